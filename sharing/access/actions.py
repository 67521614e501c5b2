"""The clinician's reads: each is one call through the one door (`door.audited_read`).

`read_patient` names the patient read: decide for the patient, gather from
`Measurement.objects.granted(decision)` (the decision's patient, scope and visibility), and
describe what the audit record says was made available. The record is committed before the
result is returned; if it cannot be written, AuditUnavailable is raised and nothing is returned.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone

from sharing.audit import events
from sharing.audit.actions import AuditUnavailable
from sharing.core.actor import Actor
from sharing.core.basis import ReasonCode
from sharing.core.prepared import Prepared
from sharing.identifiers import InvalidIdentifier, NationalId, parse_national_id
from sharing.measurements import journal
from sharing.measurements import overview as reads
from sharing.measurements import series as charts
from sharing.measurements.models import Measurement

from .decision import AgreementInForce, Basis, Decision, decide
from .door import Access, LookupRateLimited, audited_read, lookup_rate_exceeded
from .granted import GrantedQuery, GrantedRead

__all__ = [
    "patient_of_measurement",
    "Access",
    "AuditUnavailable",
    "LookupRateLimited",
    "PatientPage",
    "copy_to_journal",
    "export_patient",
    "lookup_rate_exceeded",
    "open_patient",
    "read_patient",
    "view_patient",
    "view_patient_series",
]

T = TypeVar("T")


def read_patient(
    *,
    by: Actor,
    patient: NationalId,
    basis: Basis,
    reason: str,
    event: str,
    gather: Callable[[QuerySet[Measurement], Decision], T] | GrantedRead[T],
    describe: Callable[[T], Mapping[str, object]],
    context: Mapping[str, object] | None = None,
    lookup: bool | None = None,
    withheld: Callable[[T], bool] | None = None,
    withdrawn: bool = False,
    at: dt.datetime | None = None,
) -> Access[T]:
    """Decide, gather (only when granted), write the audit record `event`, then return.

    Granted or denied, the read is logged; if logging fails, nothing is returned. A lookup
    (by default the events.LOOKUP_EVENTS) over the per-person hourly limit is logged as denied
    ("rate-limited") and raises LookupRateLimited. `context`, `withheld`: see `audited_read`.
    `withdrawn`: gather from the granted rows including the withdrawn ones (history, sync).
    `gather` is a function of `Measurement.objects.granted(decision)` and the decision, or a
    prepared read of the same rows (`GrantedQuery.read`, sharing/access/granted.py).
    """
    if isinstance(gather, GrantedRead) and gather.query.withdrawn != withdrawn:
        raise TypeError("the prepared read and the call disagree on whether withdrawn rows are included")

    def gathered(decision: Decision) -> T:
        if isinstance(gather, GrantedRead):
            return gather(decision)
        return gather(Measurement.objects.granted(decision, withdrawn=withdrawn), decision)

    return audited_read(
        by=by,
        event=event,
        patient=patient,
        basis=str(basis),
        reason=reason,
        context=context,
        withheld=withheld,
        lookup=event in events.LOOKUP_EVENTS if lookup is None else lookup,
        decide=lambda: decide(actor=by, patient_value=patient.value, basis=basis, reason=reason, at=at),
        gather=gathered,
        describe=describe,
        at=at,
    )


def _patient_of_measurement_query(*, shape: bool, measurement_id: uuid.UUID) -> QuerySet[Measurement, tuple[str]]:
    rows = Measurement.objects.all() if shape else Measurement.objects.visible()
    return rows.filter(pk=measurement_id).values_list("patient_value")[:1]


# The first query of every read by id: compiled once, prepared on the connection (sharing.core.prepared).
_PATIENT_OF_MEASUREMENT = Prepared(_patient_of_measurement_query)


def patient_of_measurement(measurement_id: uuid.UUID, *, withdrawn: bool = False) -> NationalId | None:
    """Whose measurement this is (a visible one; with `withdrawn` any), to decide on before
    anything of it is loaded.

    Only the patient's identifier is read; the resource itself is read after the decision,
    through `Measurement.objects.granted(decision)`.
    """
    found = _PATIENT_OF_MEASUREMENT.rows(withdrawn, measurement_id=measurement_id)
    value = found[0][0] if found else None
    try:
        return parse_national_id(value) if value else None
    except InvalidIdentifier:
        return None


def _period(period: tuple[dt.datetime, dt.datetime] | None) -> list[str]:
    return [period[0].isoformat(), period[1].isoformat()] if period else []


# --- The clinician's reads ------------------------------------------------------------------


def open_patient(
    *,
    by: Actor,
    patient: NationalId,
    basis: Basis,
    reason: str,
    reason_code: ReasonCode | None = None,
    context: Mapping[str, object] | None = None,
    at: dt.datetime | None = None,
) -> Access[reads.Summary]:
    """The search: is access granted, and to what (name, kinds, count)? Logged as patient.lookup,
    with the coded reason (if one was chosen) as data["reason_code"] beside the reason's text.

    `context`: kept in the record whatever the outcome, e.g. `{"launch": {...}}` for a lookup
    started from a hospital record (EHR launch: the system, the encounter)."""
    return read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event=events.PATIENT_LOOKUP,
        context={**(context or {}), **({"reason_code": reason_code.value} if reason_code else {})} or None,
        gather=lambda qs, _decision: reads.summary(qs),
        describe=lambda s: {"view": "lookup", "kinds": list(s.kinds), "period": _period(s.period), "count": s.count},
        at=at,
    )


@dataclass(frozen=True)
class PatientPage:
    overview: reads.Overview
    agreements: tuple[AgreementInForce, ...]


# The overview's daily aggregates per shape of decision and time zone, planned per call (its plan
# depends on how long the patient's window is).
_DAYS = GrantedQuery(lambda granted, *, shape, window_start: reads.days_query(granted, window_start), server=False)


def _latest_query(granted: QuerySet[Measurement], *, shape: int, window_start: dt.datetime, **kinds: str) -> QuerySet:
    return reads.latest_query(granted, [kinds[f"kind{i}"] for i in range(shape)], window_start)


# The newest reading of each kind (and the newest with the municipality's ranges), per number of
# kinds, planned per call as the days are.
_LATEST = GrantedQuery(_latest_query, server=False)


def view_patient(
    *,
    by: Actor,
    patient: NationalId,
    basis: Basis,
    reason: str,
    kinds: Iterable[str] | None = None,
    context: Mapping[str, object] | None = None,
    at: dt.datetime | None = None,
) -> Access[PatientPage]:
    """The patient page: latest value per kind, the last 30 days, the agreements. patient.view.

    `kinds`: the kinds the lookup found, so a kind with only old readings is found by one index
    probe (default: probe every kind). The record's count and period are the readings shown.
    `context`: kept in the record (the launch the lookup came from, see `open_patient`).
    """
    now = at or timezone.now()

    def gather(qs: QuerySet[Measurement], decision: Decision) -> PatientPage:
        # The daily aggregates' query, the page's biggest to build, compiled once (sharing/access/granted.py).
        window_start = reads.trend_window_start(now)
        days = _DAYS.dicts(decision, str(timezone.get_current_timezone()), window_start=window_start)

        def latest(probed: list[str]) -> list[tuple[Any, ...]]:
            names = {f"kind{i}": kind for i, kind in enumerate(probed)}
            return _LATEST.rows(decision, len(probed), window_start=window_start, **names)

        prepared = latest if connections[qs.db].vendor == "postgresql" else None  # SQLite: no LATERAL
        return PatientPage(
            reads.overview(qs, now=now, kinds=kinds, day_rows=days, latest_rows=prepared), decision.agreements
        )

    def describe(page: PatientPage) -> dict[str, object]:
        o = page.overview
        return {"view": "overview", "kinds": [k.kind for k in o.kinds], "period": _period(o.period), "count": o.count}

    return read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event=events.PATIENT_VIEW,
        context=context,
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
    page: int = 1,
    context: Mapping[str, object] | None = None,
    at: dt.datetime | None = None,
) -> Access[charts.Series]:
    """One kind's chart (every reading of the period, drawn or aggregated) and one page of its
    table. Logged as patient.view with kind, period, count (the period's readings) and the page.
    `context`: kept in the record (the launch the lookup came from, see `open_patient`)."""

    def describe(s: charts.Series) -> dict[str, object]:
        shown = (s.first, s.last) if s.first and s.last else None
        count = s.count
        return {"view": "series", "kinds": [kind], "period": _period(shown), "count": count, "page": s.page}

    return read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event=events.PATIENT_VIEW,
        context=context,
        gather=lambda qs, _decision: charts.series(qs, kind=kind, start=start, end=end, page=page),
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
    context: Mapping[str, object] | None = None,
    at: dt.datetime | None = None,
) -> Access[list[reads.Reading]]:
    """Every reading the actor may see (optionally one kind, one period), for a CSV file. patient.export.
    `context`: kept in the record (the launch the lookup came from, see `open_patient`)."""

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
        context=context,
        gather=lambda qs, _decision: charts.readings(qs, kind=kind, start=start, end=end),
        describe=describe,
        at=at,
    )


def copy_to_journal(
    *,
    by: Actor,
    patient: NationalId,
    basis: Basis,
    reason: str,
    start: dt.datetime | None,
    end: dt.datetime,
    context: Mapping[str, object] | None = None,
    at: dt.datetime | None = None,
) -> Access[journal.JournalBasis]:
    """What a plain-text note for the hospital record is made from, over one period. Copying
    data out into another record is its own event: patient.export with view "journal-note".
    `context`: kept in the record (the launch the lookup came from, see `open_patient`)."""

    def describe(b: journal.JournalBasis) -> dict[str, object]:
        period = (min(k.first for k in b.kinds), max(k.latest.effective for k in b.kinds)) if b.kinds else None
        kinds = [k.kind for k in b.kinds]
        return {"view": "journal-note", "format": "text", "kinds": kinds, "period": _period(period), "count": b.count}

    return read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event=events.PATIENT_EXPORT,
        context=context,
        gather=lambda qs, _decision: journal.journal_basis(qs, start=start, end=end),
        describe=describe,
        at=at,
    )
