"""Patient reads: decide, gather what the decision allows, log it, and only then hand it out.

`read_patient` is the one path. Every page, export and API read is a call to it with a
`gather` (what to fetch from the measurements the decision allows) and a `describe` (what
the audit record says was made available). The record is committed before the result is
returned; if it cannot be written, AuditUnavailable is raised and nothing is returned.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.conf import settings
from django.db import DatabaseError
from django.db.models import QuerySet
from django.utils import timezone

from sharing.audit import events
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor
from sharing.identifiers import NationalId
from sharing.measurements import overview as reads
from sharing.measurements import series as charts
from sharing.measurements.models import Measurement

from .decision import AgreementInForce, Basis, Decision, decide

logger = logging.getLogger(__name__)

T = TypeVar("T")


class AuditUnavailable(Exception):
    """The audit record could not be written, so no patient data may be shown."""


class LookupRateLimited(Exception):
    """Too many lookups by this person in the last hour: refused, logged, and queued for review."""


# Lookups (portal search and API search) count against LOOKUP_RATE_LIMIT_PER_HOUR per person.
RATE_LIMITED_EVENTS = events.LOOKUP_EVENTS
RATE_LIMITED = events.RATE_LIMITED  # data.denial of the record a refused lookup leaves


def lookup_rate_exceeded(*, by: Actor, at: dt.datetime) -> bool:
    """Whether `by` has used up LOOKUP_RATE_LIMIT_PER_HOUR lookups in the hour before `at` (0: no limit).

    Counted from the access log itself (refused lookups do not count), so the limit holds across
    workers and restarts, and cannot be reset by anything short of writing the log.
    """
    limit = settings.LOOKUP_RATE_LIMIT_PER_HOUR
    if limit <= 0 or not (by.sub or by.client_id):
        return False
    who = {"actor_sub": by.sub} if by.sub else {"client_id": by.client_id, "actor_sub": ""}
    recent = (
        AuditEvent.objects.filter(
            events.counted_lookups(), **who, occurred_at__gt=at - dt.timedelta(hours=1), occurred_at__lte=at
        )
        .order_by()  # counted from the partial index alone, in no order
        .values("occurred_at")
    )
    return recent[:limit].count() >= limit


@dataclass(frozen=True)
class Access(Generic[T]):
    """The outcome of a patient read: the decision and, when granted, what was gathered."""

    patient: NationalId
    decision: Decision
    result: T | None = None


def allowed_measurements(patient: NationalId, decision: Decision) -> QuerySet[Measurement]:
    """What the decision lets the actor see: visible measurements of the patient, within scope."""
    return Measurement.objects.visible().for_patient(patient.value).filter(decision.filter_q())


def read_patient(
    *,
    by: Actor,
    patient: NationalId,
    basis: Basis,
    reason: str,
    event: str,
    gather: Callable[[QuerySet[Measurement], Decision], T],
    describe: Callable[[T], Mapping[str, object]],
    at: dt.datetime | None = None,
) -> Access[T]:
    """Decide, gather (only when granted), write the audit record `event`, then return.

    Granted or denied, the read is logged; if logging fails, nothing is returned. A lookup over
    the per-person hourly limit is logged as denied ("rate-limited") and raises LookupRateLimited.
    """
    at = at or timezone.now()
    if event in RATE_LIMITED_EVENTS and lookup_rate_exceeded(by=by, at=at):
        _record(event, by=by, patient=patient, basis=basis, reason=reason, granted=False, data={"denial": RATE_LIMITED})
        raise LookupRateLimited
    decision = decide(actor=by, patient_value=patient.value, basis=basis, reason=reason, at=at)
    if not decision.granted:
        _record(event, by=by, patient=patient, basis=basis, reason=reason, granted=False, data=_denied(decision))
        return Access(patient, decision)
    result = gather(allowed_measurements(patient, decision), decision)
    data = {"agreements": decision.agreement_ids, "municipalities": decision.municipalities, **describe(result)}
    _record(event, by=by, patient=patient, basis=basis, reason=reason, granted=True, data=data)
    return Access(patient, decision, result)


def _denied(decision: Decision) -> dict[str, object]:
    return {"denial": str(decision.denial)}


def _period(period: tuple[dt.datetime, dt.datetime] | None) -> list[str]:
    return [period[0].isoformat(), period[1].isoformat()] if period else []


def _record(
    event: str, *, by: Actor, patient: NationalId, basis: Basis, reason: str, granted: bool, data: Mapping[str, object]
) -> None:
    try:
        record_event(
            event=event,
            outcome="granted" if granted else "denied",
            by=by,
            patient_system=patient.system,
            patient_value=patient.value,
            data=data,
            basis=str(basis),
            reason=reason,
        )
    except DatabaseError as exc:
        logger.exception("Audit write failed; withholding patient data")
        raise AuditUnavailable from exc


# --- The clinician's reads ------------------------------------------------------------------


def open_patient(
    *, by: Actor, patient: NationalId, basis: Basis, reason: str, at: dt.datetime | None = None
) -> Access[reads.Summary]:
    """The search: is access granted, and to what (name, kinds, count)? Logged as patient.lookup."""
    return read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event=events.PATIENT_LOOKUP,
        gather=lambda qs, _decision: reads.summary(qs),
        describe=lambda s: {"view": "lookup", "kinds": list(s.kinds), "period": _period(s.period), "count": s.count},
        at=at,
    )


@dataclass(frozen=True)
class PatientPage:
    overview: reads.Overview
    agreements: tuple[AgreementInForce, ...]


def view_patient(
    *,
    by: Actor,
    patient: NationalId,
    basis: Basis,
    reason: str,
    kinds: Iterable[str] | None = None,
    at: dt.datetime | None = None,
) -> Access[PatientPage]:
    """The patient page: latest value per kind, the last 30 days, the agreements. patient.view.

    `kinds`: the kinds the lookup found, so a kind with only old readings is found by one index
    probe (default: probe every kind). The record's count and period are the readings shown.
    """
    now = at or timezone.now()

    def gather(qs: QuerySet[Measurement], decision: Decision) -> PatientPage:
        return PatientPage(reads.overview(qs, now=now, kinds=kinds), decision.agreements)

    def describe(page: PatientPage) -> dict[str, object]:
        o = page.overview
        return {"view": "overview", "kinds": [k.kind for k in o.kinds], "period": _period(o.period), "count": o.count}

    return read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event=events.PATIENT_VIEW,
        gather=gather,
        describe=describe,
        at=at,
    )


def view_patient_series(
    *,
    by: Actor,
    patient: NationalId,
    basis: Basis,
    reason: str,
    kind: str,
    start: dt.datetime | None,
    end: dt.datetime,
    at: dt.datetime | None = None,
) -> Access[charts.Series]:
    """One kind's chart and table over a period. Logged as patient.view with kind, period and count."""

    def describe(s: charts.Series) -> dict[str, object]:
        shown = (s.readings[0].effective, s.readings[-1].effective) if s.readings else None
        return {"view": "series", "kinds": [kind], "period": _period(shown), "count": len(s.readings)}

    return read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event=events.PATIENT_VIEW,
        gather=lambda qs, _decision: charts.series(qs, kind=kind, start=start, end=end),
        describe=describe,
        at=at,
    )


def export_patient(
    *,
    by: Actor,
    patient: NationalId,
    basis: Basis,
    reason: str,
    kind: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    at: dt.datetime | None = None,
) -> Access[list[reads.Reading]]:
    """Every reading the actor may see (optionally one kind, one period), for a CSV file. patient.export."""

    def describe(rows: list[reads.Reading]) -> dict[str, object]:
        times = [r.effective for r in rows]
        period = (min(times), max(times)) if times else None
        kinds = sorted({r.kind for r in rows})
        return {"view": "export", "format": "csv", "kinds": kinds, "period": _period(period), "count": len(rows)}

    return read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event=events.PATIENT_EXPORT,
        gather=lambda qs, _decision: charts.readings(qs, kind=kind, start=start, end=end),
        describe=describe,
        at=at,
    )


# --- Kept for callers that want every measurement as model rows ----------------------------


@dataclass(frozen=True)
class Lookup:
    patient: NationalId
    decision: Decision
    measurements: list[Measurement] = field(default_factory=list)

    @property
    def patient_display(self) -> str:
        return self.measurements[0].patient_display if self.measurements else ""


def look_up_patient(
    *, by: Actor, patient: NationalId, basis: Basis, reason: str, at: dt.datetime | None = None
) -> Lookup:
    """Every visible measurement in scope, as model rows, logged as patient.lookup."""

    def describe(rows: list[Measurement]) -> dict[str, object]:
        times = [m.effective for m in rows]
        period = (min(times), max(times)) if times else None
        return {"kinds": sorted({m.kind for m in rows}), "period": _period(period), "count": len(rows)}

    access = read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event=events.PATIENT_LOOKUP,
        gather=lambda qs, _decision: list(qs.order_by("kind", "-effective")),
        describe=describe,
        at=at,
    )
    return Lookup(patient=access.patient, decision=access.decision, measurements=access.result or [])
