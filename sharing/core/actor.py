"""Who is acting: the facts the access decision and the audit record need about a caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from .claims import OneTimeClaim


class Role(StrEnum):
    CLINICIAN = "clinician"
    MUNICIPALITY_ADMIN = "municipality_admin"
    AUDITOR = "auditor"
    SERVICE_AUDITOR = "service_auditor"
    # The privacy officer of a reading organisation: its own staff's lookups (issue 16).
    ORG_AUDITOR = "org_auditor"
    SYSTEM_ADMIN = "system_admin"
    SYSTEM_CLIENT = "system_client"


ROLE_LABELS = {
    Role.CLINICIAN: _("Clinician"),
    Role.MUNICIPALITY_ADMIN: _("Municipality admin"),
    Role.AUDITOR: _("Auditor"),
    Role.SERVICE_AUDITOR: _("Service auditor"),
    Role.ORG_AUDITOR: _("Privacy officer"),
    Role.SYSTEM_ADMIN: _("System admin"),
    Role.SYSTEM_CLIENT: _("System client"),
}


@dataclass(frozen=True)
class Approval:
    """One HPR authorisation (from HelseID's hpr_details): a profession code (LE, SP, FT, ...) and
    when it holds. A revoked one never holds."""

    profession: str
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    revoked: bool = False

    def holds_on(self, day: dt.date) -> bool:
        if self.revoked:
            return False
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def approvals_from(hpr_details: Mapping[str, Any]) -> tuple[Approval, ...]:
    """The authorisations in HelseID's hpr_details ({"approvals": [{"profession", "authorization":
    {"valid_from", "valid_to", "revoked"}}]}); anything unreadable is left out."""
    found = []
    for item in hpr_details.get("approvals") or ():
        if not isinstance(item, Mapping) or not isinstance(item.get("profession"), str):
            continue
        authorization = item.get("authorization")
        authorization = authorization if isinstance(authorization, Mapping) else {}
        found.append(
            Approval(
                profession=item["profession"],
                valid_from=_date(authorization.get("valid_from")),
                valid_to=_date(authorization.get("valid_to")),
                revoked=bool(authorization.get("revoked", False)),
            )
        )
    return tuple(found)


@dataclass(frozen=True)
class Actor:
    """A person logged in through HelseID, or a system client with a token.

    Built by the portal from the login session, or by the FHIR API from a bearer token;
    `sharing` never looks at Django users or sessions.
    """

    sub: str = ""
    pid: str = ""
    hpr_number: str = ""
    name: str = ""
    security_level: str = ""
    orgnr_parent: str = ""
    orgnr_child: str = ""
    org_parent_name: str = ""
    org_child_name: str = ""
    roles: frozenset[Role] = field(default_factory=frozenset)
    # Roles granted for one municipality (admin, auditor): (role, municipality orgnr); for one
    # reading organisation (privacy officer): (role, its orgnr). A service-wide grant (service
    # auditor, system admin) uses "" as the municipality.
    grants: frozenset[tuple[Role, str]] = field(default_factory=frozenset)
    client_id: str = ""
    request_id: str = ""
    # HPR authorisations from hpr_details; None when the caller's credentials do not carry them
    # (an API token), so the decision cannot check them.
    approvals: tuple[Approval, ...] | None = None
    # A FHIR read's DPoP proof, checked but not yet recorded as used: recorded with the request's
    # audit record (sharing/core/claims.py). Not part of who the actor is.
    claim: OneTimeClaim | None = field(default=None, compare=False, repr=False)

    def professions_on(self, day: dt.date) -> frozenset[str]:
        """The professions the person is authorised for on `day`."""
        return frozenset(a.profession for a in self.approvals or () if a.holds_on(day))

    @property
    def role_label(self) -> str:
        return ",".join(sorted(self.roles | {role for role, _municipality in self.grants}))

    def has_role(self, role: Role, municipality: str | None = None) -> bool:
        """Whether the actor holds `role`; with a municipality, for that municipality (or service-wide)."""
        if municipality is None:
            return role in self.roles or any(granted == role for granted, _m in self.grants)
        return (role, municipality) in self.grants or (role, "") in self.grants
