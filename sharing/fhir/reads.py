"""Reads through the FHIR API: the same access decision and the same log as the portal's pages.

Each function decides, gathers exactly what the decision allows, writes the audit record
(committed), and only then returns the data to be rendered. A denial is logged too and
surfaces as 404, the same answer as for a patient or resource that does not exist.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import DatabaseError
from django.db.models import Count, F, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from sharing.access.actions import RATE_LIMITED, lookup_rate_exceeded
from sharing.access.decision import Decision, decide
from sharing.audit.actions import record_event
from sharing.core.actor import Actor
from sharing.core.basis import Basis
from sharing.measurements.models import Measurement

from .search import ObservationQuery, after_cursor, make_cursor, ordering

FLAGS_EXTENSION = "https://maaledata.no/fhir/StructureDefinition/ingest-flags"
# What a search answer uses of each row (as_resource, the audit record, the cursor): loading only
# these skips decoding the columns nobody reads, 50 rows a page.
RENDERED_FIELDS = ("id", "kind", "effective", "flags", "raw__resource")


class NotVisible(Exception):
    """Denied, missing or out of scope: the caller answers 404 in every case."""


class AuditUnavailable(Exception):
    """The audit record could not be written, so no data may leave."""


class RateLimited(Exception):
    """The caller has used up LOOKUP_RATE_LIMIT_PER_HOUR; the refusal is logged for review."""


@dataclass(frozen=True)
class Page:
    measurements: list[Measurement]
    total: int
    next_cursor: str | None


def _log(
    *,
    event: str,
    by: Actor,
    patient: tuple[str, str],
    basis: Basis,
    reason: str,
    decision: Decision,
    data: dict[str, Any],
) -> None:
    payload = {**data, "agreements": decision.agreement_ids, "municipalities": decision.municipalities}
    if not decision.granted:
        payload = {**data, "denial": str(decision.denial)} if decision.denial else dict(data)
    try:
        record_event(
            event=event,
            outcome="granted" if decision.granted else "denied",
            by=by,
            patient_system=patient[0],
            patient_value=patient[1],
            data=payload,
            basis=str(basis),
            reason=reason,
        )
    except DatabaseError as exc:
        raise AuditUnavailable from exc


def _made_available(measurements: list[Measurement]) -> dict[str, Any]:
    times = [m.effective for m in measurements]
    return {
        "kinds": sorted({m.kind for m in measurements}),
        "period": [min(times).isoformat(), max(times).isoformat()] if times else [],
        "count": len(measurements),
        "ids": [str(m.id) for m in measurements[:1000]],
    }


def _visible(decision: Decision) -> Any:
    return Measurement.objects.visible().filter(decision.filter_q())


def search(*, by: Actor, query: ObservationQuery, basis: Basis, reason: str, cursor: str | None) -> Page:
    query_data = {"query": [list(p) for p in query.raw_params if not p[0].startswith("patient")]}
    if cursor is None and lookup_rate_exceeded(by=by, at=timezone.now()):
        refused = Decision(False, None)
        _log(
            event="api.search",
            by=by,
            patient=_who(query),
            basis=basis,
            reason=reason,
            decision=refused,
            data={**query_data, "denial": RATE_LIMITED},
        )
        raise RateLimited
    decision = decide(actor=by, patient_value=query.patient.value, basis=basis, reason=reason)
    log = partial(_log, event="api.search", by=by, patient=_who(query), basis=basis, reason=reason, decision=decision)
    if not decision.granted:
        log(data=query_data)
        raise NotVisible
    matching = query.filter(_visible(decision))
    if query.summary_count:
        total = matching.count()
        log(data={**query_data, "count": total, "summary": "count"})
        return Page([], total, None)
    page = after_cursor(matching, query, by.sub, cursor) if cursor else matching
    # The total rides along with the page: an uncorrelated subquery, computed once (one patient,
    # so one group), saves a round trip. Only a page past the end needs its own count.
    counted = matching.order_by().values("patient_value").annotate(n=Count("pk")).values("n")
    fetched: list[Measurement] = list(
        page.annotate(total=Subquery(counted))
        .select_related("raw")
        .only(*RENDERED_FIELDS)
        .order_by(*ordering(query))[: query.count + 1]
    )
    total = int(getattr(fetched[0], "total", 0)) if fetched else (matching.count() if cursor else 0)
    more = len(fetched) > query.count
    rows = fetched[: query.count]
    log(data={**query_data, **_made_available(rows)})
    return Page(rows, total, make_cursor(query, by.sub, rows[-1]) if more and rows else None)


def read(*, by: Actor, measurement_id: uuid.UUID, basis: Basis, reason: str) -> Measurement:
    found = Measurement.objects.visible().select_related("raw").filter(pk=measurement_id).first()
    if found is None:
        raise NotVisible
    decision = decide(actor=by, patient_value=found.patient_value, basis=basis, reason=reason)
    in_scope = decision.granted and _visible(decision).filter(pk=found.pk).exists()
    data = _made_available([found]) if in_scope else {"resource": str(measurement_id), "denial": "out-of-scope"}
    # Granted for the patient but this resource is outside the scope: logged as a denial.
    logged = decision if in_scope or not decision.granted else Decision(False, None)
    _log(
        event="api.read",
        by=by,
        patient=(found.patient_system, found.patient_value),
        basis=basis,
        reason=reason,
        decision=logged,
        data=data,
    )
    if not in_scope:
        raise NotVisible
    return found


def last_n(*, by: Actor, query: ObservationQuery, basis: Basis, reason: str, max_per_code: int) -> list[Measurement]:
    """$lastn: the latest `max_per_code` measurements of each code, by a window function in SQL."""
    decision = decide(actor=by, patient_value=query.patient.value, basis=basis, reason=reason)
    log = partial(_log, event="api.lastn", by=by, patient=_who(query), basis=basis, reason=reason, decision=decision)
    if not decision.granted:
        log(data={})
        raise NotVisible
    ranked = query.filter(_visible(decision)).annotate(
        rank=Window(RowNumber(), partition_by=[F("kind"), F("code_system"), F("code")], order_by=F("effective").desc())
    )
    # Rank the measurements alone, then join the raw resources of the winners only: joining first
    # would read every resource of the patient's history (a year: 64 ms p95 instead of 16).
    latest = ranked.filter(rank__lte=max_per_code).values("id")
    rows: list[Measurement] = list(
        Measurement.objects.filter(id__in=Subquery(latest))
        .select_related("raw")
        .only(*RENDERED_FIELDS)
        .order_by("kind", "-effective")
    )
    log(data={**_made_available(rows), "max": max_per_code})
    return rows


def _who(query: ObservationQuery) -> tuple[str, str]:
    return (query.patient.system, query.patient.value)


def as_resource(measurement: Measurement, base_url: str) -> dict[str, Any]:
    """The resource as received, under our id, with our ingest flags as a documented extension."""
    resource: dict[str, Any] = dict(measurement.raw.resource)
    resource["id"] = str(measurement.id)
    if measurement.flags:
        flags = [{"url": FLAGS_EXTENSION, "valueString": flag} for flag in measurement.flags]
        resource["extension"] = [*resource.get("extension", []), *flags]
    return resource


def fhir_instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
