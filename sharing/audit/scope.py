"""Who may read the access log, and how much of it.

A municipality's auditor reads the events about their municipality's data; the service
auditor (the processor's) reads every event. An organisation auditor (the privacy officer of a
reading organisation, e.g. a hospital) reads the events its own staff caused, in every
municipality, and nothing about anyone else's staff. An auditor's system reading through the
FHIR API is scoped the same way by the organisation its token names. Who gets which scope is
decided in the access layer (`sharing.access.permissions.auditor_scope` and its siblings), from
the one vocabulary of permissions; the log itself only knows the scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AuditScope:
    """The events an auditor may read: those about these municipalities, or (None) all of them,
    and those done by people acting for the organisations in `staff_of` (an organisation auditor)."""

    municipalities: frozenset[str] | None
    staff_of: frozenset[str] = field(default_factory=frozenset)

    @property
    def whole_service(self) -> bool:
        return self.municipalities is None

    @property
    def staff_only(self) -> bool:
        """An organisation auditor's scope: its own staff's events and no municipality's."""
        return self.municipalities is not None and not self.municipalities and bool(self.staff_of)

    def covers(self, municipalities: list[str], *, org_parent: str = "") -> bool:
        """Whether an event about `municipalities`, done for `org_parent`, is inside this scope."""
        if self.municipalities is None or org_parent in self.staff_of:
            return True
        return bool(self.municipalities.intersection(municipalities))

    def within(self, municipalities: list[str]) -> list[str]:
        """The part of `municipalities` this scope speaks for (for an auditor's own records)."""
        if self.municipalities is None:
            return sorted(municipalities)
        return sorted(self.municipalities.intersection(municipalities))
