"""Who may read the access log, and how much of it.

A municipality's auditor reads the events about their municipality's data; the service
auditor (the processor's) reads every event. An auditor's system reading through the FHIR API
is scoped the same way by the organisation its token names. Who gets which scope is decided in
the access layer (`sharing.access.permissions.auditor_scope` and its siblings), from the one
vocabulary of permissions; the log itself only knows the scope.
"""

from __future__ import annotations

from dataclasses import dataclass


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
