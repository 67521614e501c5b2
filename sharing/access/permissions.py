"""The one vocabulary of what each role may do, and for which municipality.

Pages and commands ask `can(actor, Permission.X, municipality=orgnr)`; nothing else decides
who may administer or audit. Deny by default: a permission not listed for a role is refused.

A municipal grant (admin, auditor) holds for its own municipality only. A service-wide grant
(service auditor, system admin) holds for every municipality and for the service as a whole
(`municipality=None`). Patient data is not here: it is decided per lookup by `decision.decide`.
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings

from sharing.agreements.models import Organisation
from sharing.audit.scope import AuditScope
from sharing.core.actor import Actor, Role


class Permission(StrEnum):
    VIEW_AGREEMENTS = "view_agreements"
    MANAGE_AGREEMENTS = "manage_agreements"
    VIEW_RESERVATIONS = "view_reservations"
    MANAGE_RESERVATIONS = "manage_reservations"
    # The warnings ingest stored with the municipality's measurements, per sender (no patient data).
    VIEW_INGEST_QUALITY = "view_ingest_quality"
    # Ask for, or confirm (a second admin), the deletion of one patient's data (issue 18).
    DELETE_PATIENT_DATA = "delete_patient_data"
    # Link a D-number or FHN to the fødselsnummer that replaced it, for the municipality (issue 18).
    LINK_IDENTITIES = "link_identities"
    # Keep the processor's register: who may send for which municipality, and the data processing
    # agreements (the service admin, on the municipality's instruction).
    MANAGE_PROCESSING_REGISTER = "manage_processing_register"
    # Grant and revoke the municipal roles (admin, auditor) of a municipality.
    MANAGE_MUNICIPAL_ROLES = "manage_municipal_roles"
    # Grant and revoke the service roles (service auditor, system admin).
    MANAGE_SERVICE_ROLES = "manage_service_roles"
    # Register the organisations that read (and their units) and appoint each one's admin.
    MANAGE_ORGANISATIONS = "manage_organisations"
    VIEW_AUDIT_LOG = "view_audit_log"
    REVIEW_AUDIT_LOG = "review_audit_log"
    # A reading organisation's privacy officer: the log of its own staff's events, in every
    # municipality, and their review queue (issue 16). Held for the organisation, not a municipality.
    VIEW_STAFF_AUDIT_LOG = "view_staff_audit_log"
    REVIEW_STAFF_AUDIT_LOG = "review_staff_audit_log"
    # Grant and revoke the organisation roles (privacy officer) of reading organisations.
    MANAGE_ORGANISATION_ROLES = "manage_organisation_roles"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.MUNICIPALITY_ADMIN: frozenset(
        {
            Permission.VIEW_AGREEMENTS,
            Permission.MANAGE_AGREEMENTS,
            Permission.VIEW_RESERVATIONS,
            Permission.MANAGE_RESERVATIONS,
            Permission.MANAGE_MUNICIPAL_ROLES,
            Permission.VIEW_INGEST_QUALITY,
            Permission.DELETE_PATIENT_DATA,
            Permission.LINK_IDENTITIES,
        }
    ),
    # Auditors read the log and the agreements that explain it; they change nothing else.
    Role.AUDITOR: frozenset({Permission.VIEW_AUDIT_LOG, Permission.REVIEW_AUDIT_LOG, Permission.VIEW_AGREEMENTS}),
    Role.SERVICE_AUDITOR: frozenset(
        {Permission.VIEW_AUDIT_LOG, Permission.REVIEW_AUDIT_LOG, Permission.VIEW_AGREEMENTS}
    ),
    # The privacy officer reads its own staff's part of the log; no agreement, no municipality's log.
    Role.ORG_AUDITOR: frozenset({Permission.VIEW_STAFF_AUDIT_LOG, Permission.REVIEW_STAFF_AUDIT_LOG}),
    # The processor's system admin sets people up; the municipality (controller) owns its agreements.
    Role.SYSTEM_ADMIN: frozenset(
        {
            Permission.MANAGE_MUNICIPAL_ROLES,
            Permission.MANAGE_SERVICE_ROLES,
            Permission.MANAGE_ORGANISATION_ROLES,
            Permission.MANAGE_ORGANISATIONS,
            Permission.VIEW_AGREEMENTS,
            Permission.MANAGE_PROCESSING_REGISTER,
        }
    ),
}


def can(actor: Actor, permission: Permission, *, municipality: str | None = None) -> bool:
    """Whether `actor` may do `permission` for `municipality` (None: service-wide)."""
    for role, granted_for in actor.grants:
        if permission not in ROLE_PERMISSIONS.get(role, frozenset()):
            continue
        if granted_for == "" or (municipality is not None and granted_for == municipality):
            return True
    return False


def municipalities_for(actor: Actor, permission: Permission) -> frozenset[str] | None:
    """The municipalities `actor` may do `permission` for; None means every one (a service-wide grant)."""
    found: set[str] = set()
    for role, granted_for in actor.grants:
        if permission in ROLE_PERMISSIONS.get(role, frozenset()):
            if granted_for == "":
                return None
            found.add(granted_for)
    return frozenset(found)


# --- Reading the access log: the permissions turned into a reading scope --------------------


def organisations_for(actor: Actor, permission: Permission) -> frozenset[str]:
    """The reading organisations `actor` may do `permission` for (an organisation role's grants)."""
    return frozenset(
        granted_for
        for role, granted_for in actor.grants
        if granted_for and permission in ROLE_PERMISSIONS.get(role, frozenset())
    )


def _scope(actor: Actor, permission: Permission, staff_permission: Permission) -> AuditScope | None:
    municipalities = municipalities_for(actor, permission)
    if municipalities is None:
        return AuditScope(None)
    staff_of = organisations_for(actor, staff_permission)
    return AuditScope(municipalities, staff_of) if municipalities or staff_of else None


def auditor_scope(actor: Actor) -> AuditScope | None:
    """The part of the log a person may read; None if they may read none of it. A privacy
    officer's scope is their organisation's staff's events (`AuditScope.staff_of`)."""
    return _scope(actor, Permission.VIEW_AUDIT_LOG, Permission.VIEW_STAFF_AUDIT_LOG)


def reviewer_scope(actor: Actor) -> AuditScope | None:
    """The part of the review queue a person may mark reviewed; None if none of it."""
    return _scope(actor, Permission.REVIEW_AUDIT_LOG, Permission.REVIEW_STAFF_AUDIT_LOG)


def system_scope(*, orgnr_parent: str) -> AuditScope | None:
    """The part of the log an auditor's system may read, by the organisation its token names.

    The token's scope (maaledata/auditevent.read) says the client is an audit system; its
    organisation says whose events: the service operator's system reads all, a municipality's
    system reads that municipality's, and any other organisation reads none.
    """
    if not orgnr_parent:
        return None
    if orgnr_parent == settings.SERVICE_OPERATOR_ORGNR:
        return AuditScope(None)
    if Organisation.objects.municipalities().filter(orgnr=orgnr_parent).exists():
        return AuditScope(frozenset({orgnr_parent}))
    return None
