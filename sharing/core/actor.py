"""Who is acting: the facts the access decision and the audit record need about a caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Role(StrEnum):
    CLINICIAN = "clinician"
    MUNICIPALITY_ADMIN = "municipality_admin"
    AUDITOR = "auditor"
    SERVICE_AUDITOR = "service_auditor"
    SYSTEM_ADMIN = "system_admin"
    SYSTEM_CLIENT = "system_client"


ROLE_LABELS = {
    Role.CLINICIAN: _("Clinician"),
    Role.MUNICIPALITY_ADMIN: _("Municipality admin"),
    Role.AUDITOR: _("Auditor"),
    Role.SERVICE_AUDITOR: _("Service auditor"),
    Role.SYSTEM_ADMIN: _("System admin"),
    Role.SYSTEM_CLIENT: _("System client"),
}


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
    # Roles granted for one municipality (admin, auditor): (role, municipality orgnr).
    # A service-wide grant (service auditor, system admin) uses "" as the municipality.
    grants: frozenset[tuple[Role, str]] = field(default_factory=frozenset)
    client_id: str = ""
    request_id: str = ""

    @property
    def role_label(self) -> str:
        return ",".join(sorted(self.roles | {role for role, _municipality in self.grants}))

    def has_role(self, role: Role, municipality: str | None = None) -> bool:
        """Whether the actor holds `role`; with a municipality, for that municipality (or service-wide)."""
        if municipality is None:
            return role in self.roles or any(granted == role for granted, _m in self.grants)
        return (role, municipality) in self.grants or (role, "") in self.grants
