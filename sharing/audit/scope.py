"""Who may read the access log, and how much of it.

A municipality's auditor reads the events about their municipality's data; the service
auditor (the processor's) reads every event. An auditor's system reading through the FHIR API
is scoped the same way by the organisation its token names. Roles come from the one vocabulary
of permissions (`sharing.access.permissions`); this module turns them into a reading scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from sharing.access.permissions import Permission, municipalities_for
from sharing.agreements.models import Organisation
from sharing.core.actor import Actor


@dataclass(frozen=True)
class AuditScope:
    """The events an auditor may read: those about these municipalities, or (None) all of them."""

    municipalities: frozenset[str] | None

    @property
    def whole_service(self) -> bool:
        return self.municipalities is None

    def covers(self, municipalities: list[str]) -> bool:
        """Whether an event about `municipalities` is inside this scope."""
        return self.municipalities is None or bool(self.municipalities.intersection(municipalities))

    def within(self, municipalities: list[str]) -> list[str]:
        """The part of `municipalities` this scope speaks for (for an auditor's own records)."""
        if self.municipalities is None:
            return sorted(municipalities)
        return sorted(self.municipalities.intersection(municipalities))


def _scope(actor: Actor, permission: Permission) -> AuditScope | None:
    municipalities = municipalities_for(actor, permission)
    if municipalities is None:
        return AuditScope(None)
    return AuditScope(municipalities) if municipalities else None


def auditor_scope(actor: Actor) -> AuditScope | None:
    """The part of the log a person may read; None if they may read none of it."""
    return _scope(actor, Permission.VIEW_AUDIT_LOG)


def reviewer_scope(actor: Actor) -> AuditScope | None:
    """The part of the review queue a person may mark reviewed; None if none of it."""
    return _scope(actor, Permission.REVIEW_AUDIT_LOG)


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
