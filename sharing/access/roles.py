"""Roles: which a person holds when they act for an organisation, and the audited grant and revoke.

A clinician is recognised from what HelseID vouches for (HPR number, security level 4, an
organisation). Every other role comes from a live `RoleGrant`, and holds only while the person
acts for the organisation it belongs to: a municipal role while acting for that municipality,
a service role while acting for the service operator (`settings.SERVICE_OPERATOR_ORGNR`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sharing.agreements.models import Organisation
from sharing.audit.actions import record_event
from sharing.core.actor import Actor, Role
from sharing.core.helseid import REQUIRED_SECURITY_LEVEL
from sharing.core.prepared import Prepared
from sharing.identifiers import InvalidIdentifier, parse_national_id

from . import people
from .models import GRANTABLE_ROLES, MUNICIPAL_ROLES, ORGANISATION_ROLES, RoleGrant


def is_clinician(*, hpr_number: str, security_level: str, orgnr_parent: str) -> bool:
    """A clinician needs an HPR number, security level 4 and an organisation to act for."""
    return bool(hpr_number) and security_level == REQUIRED_SECURITY_LEVEL and bool(orgnr_parent)


def _grants_query(*, shape: None, pid: str) -> QuerySet[RoleGrant, tuple[str, str | None]]:
    """A person's live grants as (role, the municipality's orgnr or None), in no order."""
    return RoleGrant.objects.live().filter(pid=pid).order_by().values_list("role", "municipality__orgnr")


# Every portal page asks it (the views and the header's menus share one answer per request):
# compiled once and prepared on each connection, since Django building its SQL took twice as
# long as PostgreSQL answering it (0.4 against 0.2 ms).
_GRANTS = Prepared(_grants_query)


def grants_for(*, pid: str, orgnr_parent: str) -> frozenset[tuple[Role, str]]:
    """The (role, municipality) grants that hold for `pid` acting for `orgnr_parent`.

    Service-wide grants come back with "" as the municipality. One query.
    """
    if not pid or not orgnr_parent:
        return frozenset()
    rows = _GRANTS.rows(pid=pid)
    held: set[tuple[Role, str]] = set()
    for role, municipality in rows:
        if municipality is None and orgnr_parent == settings.SERVICE_OPERATOR_ORGNR:
            held.add((Role(role), ""))
        elif municipality is not None and municipality == orgnr_parent:
            held.add((Role(role), municipality))
    return frozenset(held)


def _describe(grant: RoleGrant) -> dict[str, object]:
    return {
        "grant": grant.pk,
        "role": grant.role,
        "pid": grant.pid,
        "name": grant.name,
        "municipality": grant.municipality.orgnr if grant.municipality else None,
    }


def _check_reading_organisation(organisation: Organisation | None) -> None:
    """An organisation role (privacy officer) belongs to a reading organisation's legal entity."""
    if organisation is None or organisation.parent_id is not None:
        raise ValidationError({"organisation": _("Choose the organisation the role is for.")})
    if organisation.kind == Organisation.Kind.MUNICIPALITY:
        raise ValidationError({"organisation": _("A privacy officer belongs to a reading organisation.")})


def grant_role(*, pid: str, role: Role, municipality: Organisation | None, by: Actor) -> RoleGrant:
    """Grant `role` to the person with national identity number `pid`; audited. `municipality`
    is the organisation the role holds for: a municipality for municipal roles, the reading
    organisation for organisation roles (privacy officer), None for service roles. The name kept
    is the one HelseID gave at their last login ("" if none yet, sharing.access.people), never a
    typed one.

    Raises ValidationError for a bad number, a role that cannot be granted, a scope that does
    not fit the role, a grant to oneself, or a grant the person already holds.
    """
    try:
        pid = parse_national_id(pid).value
    except InvalidIdentifier as exc:
        raise ValidationError({"pid": str(exc.message)}) from exc
    if role not in GRANTABLE_ROLES:
        raise ValidationError({"role": _("This role cannot be granted.")})
    if role in ORGANISATION_ROLES:
        _check_reading_organisation(municipality)
    elif (role in MUNICIPAL_ROLES) != (municipality is not None):
        raise ValidationError({"municipality": _("Municipal roles need a municipality; service roles have none.")})
    elif municipality is not None and municipality.kind != Organisation.Kind.MUNICIPALITY:
        raise ValidationError({"municipality": _("Only a municipality can be chosen.")})
    if by.pid and by.pid == pid:
        raise ValidationError({"pid": _("You cannot grant a role to yourself.")})
    try:
        with transaction.atomic():
            grant = RoleGrant.objects.create(
                pid=pid,
                name=people.identify(pid=pid).name,
                role=role,
                municipality=municipality,
                granted_at=timezone.now(),
                granted_by=by.name,
                granted_by_pid=by.pid,
            )
            record_event(event="role.grant", outcome="success", by=by, data={"after": _describe(grant)})
    except IntegrityError as exc:
        raise ValidationError({"pid": _("This person already has this role.")}) from exc
    return grant


def revoke_role(*, grant: RoleGrant, by: Actor) -> RoleGrant:
    """End a grant at once; the row stays, with who revoked it and when. Audited."""
    with transaction.atomic():
        grant = RoleGrant.objects.select_for_update(of=("self",)).select_related("municipality").get(pk=grant.pk)
        if not grant.is_live:
            raise ValidationError(_("This role has already been revoked."))
        grant.revoked_at = timezone.now()
        grant.revoked_by = by.name
        grant.revoked_by_pid = by.pid
        grant.save(update_fields=["revoked_at", "revoked_by", "revoked_by_pid"])
        record_event(
            event="role.revoke",
            outcome="success",
            by=by,
            data={"before": {**_describe(grant), "live": True}, "after": {**_describe(grant), "live": False}},
        )
    return grant
