"""The auditor's search: filters over the log, always inside the auditor's scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from . import events
from .models import AuditEvent, AuditEventQuerySet
from .scope import AuditScope

PAGE_SIZE = 50
LAUNCHED = "ehr"  # AuditFilter.launch: records whose data holds the EHR launch they came from


@dataclass(frozen=True)
class AuditFilter:
    patient: str = ""  # national identity number
    user: str = ""  # HPR number, national identity number, HelseID sub, or part of a name
    organisation: str = ""  # organisation number (legal entity or unit), or part of a name
    start: dt.date | None = None  # first day, local time
    end: dt.date | None = None  # last day, local time
    event: str = ""  # an event code, or a namespace as "agreement.*"; empty: all but the auditors' reads
    outcome: str = ""
    basis: str = ""
    launch: str = ""  # "ehr": only reads started from a hospital record (EHR launch)

    def as_data(self) -> dict[str, Any]:
        """The filters as the auditor's own audit record keeps them."""
        return {key: str(value) for key, value in asdict(self).items() if value}


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _user_q(value: str) -> Q:
    return Q(actor_hpr=value) | Q(actor_pid=value) | Q(actor_sub=value) | Q(actor_name__icontains=value)


def _organisation_q(value: str) -> Q:
    if value.isdigit():
        return Q(org_parent=value) | Q(org_child=value)
    return Q(org_parent_name__icontains=value) | Q(org_child_name__icontains=value)


def _event_q(value: str) -> Q:
    if value.endswith(".*"):
        return Q(event__startswith=value[:-1])
    return Q(event=value)


def search(scope: AuditScope, criteria: AuditFilter) -> AuditEventQuerySet:
    """Events in `scope` that match every filter given, newest first."""
    qs = AuditEvent.objects.in_scope(scope)
    if criteria.patient:
        qs = qs.for_patient(criteria.patient)
    if criteria.user:
        qs = qs.filter(_user_q(criteria.user))
    if criteria.organisation:
        qs = qs.filter(_organisation_q(criteria.organisation))
    if criteria.start:
        qs = qs.filter(occurred_at__gte=_day_start(criteria.start))
    if criteria.end:
        qs = qs.filter(occurred_at__lt=_day_start(criteria.end + dt.timedelta(days=1)))
    qs = qs.filter(_event_q(criteria.event)) if criteria.event else qs.exclude(event__in=events.AUDITOR_READS)
    if criteria.outcome:
        qs = qs.filter(outcome=criteria.outcome)
    if criteria.basis:
        qs = qs.filter(basis=criteria.basis)
    if criteria.launch == LAUNCHED:
        qs = qs.filter(data__has_key="launch")
    return qs.newest_first()


@dataclass(frozen=True)
class ResultPage:
    rows: list[AuditEvent]
    number: int
    has_next: bool
    # patient number → name, filled in by `sharing.access.auditlog` from the auditor's own
    # municipalities only (the audit layer knows no measurements)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def result_page(qs: AuditEventQuerySet, number: int, size: int = PAGE_SIZE) -> ResultPage:
    """One page of results, without counting them all (a count over millions of rows is slow)."""
    number = max(1, number)
    offset = (number - 1) * size
    rows = list(qs[offset : offset + size + 1])
    return ResultPage(rows=rows[:size], number=number, has_next=len(rows) > size)
