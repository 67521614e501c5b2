"""Reads through the FHIR API: the same door, decision and log as the portal's pages.

Each function is one `sharing.access.actions.read_patient` call: the access layer decides,
hands over `Measurement.objects.granted(decision)`, and commits the audit record before the
data is returned to be rendered. A denial is logged too, and answered so that the caller can act
on it without learning anything about the patient (docs/fhir-api.md, "Denials"):

- about the person, the request or the organisation (no HPR number, no agreement for the
  organisation, basis not allowed, unit not covered, a missing reason): `Refused`, 403 or 400;
- about the patient (nothing shared with this organisation, or a reservation): a search and
  $lastn find nothing, exactly as for a patient without data;
- a read by id of anything not visible: `NotVisible`, 404.

Search and $lastn are lookups, under the per-person hourly limit (429).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db.models import Count, F, Func, JSONField, QuerySet, Subquery, TextField, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast

from sharing.access.actions import patient_of_measurement, read_patient
from sharing.access.decision import Decision, Denial
from sharing.access.door import Access, LookupRateLimited
from sharing.access.granted import GrantedQuery
from sharing.audit import events
from sharing.audit.actions import AuditUnavailable
from sharing.core.actor import Actor
from sharing.core.basis import Basis

from .search import PATIENT_PARAMS, ObservationQuery, StandIn, after_cursor, make_cursor, ordering, stand_in

if TYPE_CHECKING:  # annotations only: rows come from the access layer's granted query
    from sharing.measurements.models import Measurement, MeasurementQuerySet

__all__ = [
    "AuditUnavailable",
    "NotVisible",
    "Page",
    "RateLimited",
    "Refused",
    "Version",
    "as_resource",
    "history",
    "last_n",
    "last_updated",
    "read",
    "resource_json",
    "search",
    "stored_text",
    "subset",
    "subsets",
]

FLAGS_EXTENSION = "https://maaledata.no/fhir/StructureDefinition/ingest-flags"
# What a search answer uses of each row (as_resource, the audit record, the cursor): loading only
# these skips decoding the columns nobody reads, 50 rows a page.
RENDERED_FIELDS = ("id", "kind", "effective", "flags", "version", "received_at", "updated_at", "raw__resource")
# The same rows with the stored resource as text, never parsed here: its body without the three
# members the answer sets (resourceType first, then our id and meta), and its own meta apart, so
# `resource_json` splices the answer's text around the stored text (`stored_text`).
LISTED_FIELDS = ("id", "kind", "effective", "flags", "version", "received_at", "updated_at")

# The caller has used up LOOKUP_RATE_LIMIT_PER_HOUR; the refusal is logged for review (429).
RateLimited = LookupRateLimited


class NotVisible(Exception):
    """A read by id of something denied, missing or out of scope: the caller answers 404 in every case."""


class Refused(Exception):
    """Denied whoever the patient is: for the person, the request or the organisation (403, 400)."""

    def __init__(self, denial: Denial) -> None:
        super().__init__(str(denial))
        self.denial = denial


T = TypeVar("T")


def _settled(access: Access[T], nothing: T) -> T:
    """What a search or $lastn hands out: the result, `nothing` for a denial about the patient."""
    if access.result is not None:
        return access.result
    decision = access.decision
    if decision.granted or decision.denial is None or decision.about_patient:
        return nothing
    raise Refused(decision.denial)


@dataclass(frozen=True)
class Page:
    measurements: list[Measurement]
    total: int
    next_cursor: str | None


def _made_available(measurements: list[Measurement]) -> dict[str, Any]:
    times = [m.effective for m in measurements]
    return {
        "kinds": sorted({m.kind for m in measurements}),
        "period": [min(times).isoformat(), max(times).isoformat()] if times else [],
        "count": len(measurements),
        "ids": [str(m.id) for m in measurements[:1000]],
    }


def _page_query(granted: QuerySet[Measurement], *, shape: Any, **values: Any) -> QuerySet[Measurement]:
    """A search's first page with the total riding along (see `search`), from a prepared form."""
    query = stand_in(shape, values)
    matching = query.filter(granted)
    return _with_total(matching, matching, query)


def _with_total(
    page: QuerySet[Measurement], matching: QuerySet[Measurement], query: ObservationQuery | StandIn
) -> QuerySet[Measurement]:
    # The total rides along with the page: an uncorrelated subquery, computed once (grouped by a
    # constant: one group, whatever numbers the patient has), saves a round trip.
    counted = matching.order_by().values(one=Value(1)).annotate(n=Count("pk")).values("n")
    return stored_text(page.annotate(total=Subquery(counted))).order_by(*ordering(query))[: query.count + 1]


# A search's first page, compiled once per shape (sharing/access/granted.py) and planned per call:
# its best plan (the newest rows by the index, or the whole range) depends on the values.
_FIRST_PAGE = {withdrawn: GrantedQuery(_page_query, withdrawn=withdrawn, server=False) for withdrawn in (False, True)}


def search(*, by: Actor, query: ObservationQuery, basis: Basis, reason: str, cursor: str | None) -> Page:
    """One page of a search; the first page is a lookup (a cursor continues one already counted)."""

    def paged(fetched: list[Measurement], total: int | None = None) -> Page:
        if total is None:
            total = int(getattr(fetched[0], "total", 0)) if fetched else 0
        rows = fetched[: query.count]
        more = len(fetched) > query.count
        return Page(rows, total, make_cursor(query, by.sub, rows[-1]) if more and rows else None)

    def gather(granted: QuerySet[Measurement], _decision: Decision) -> Page:
        matching = query.filter(granted)
        if query.summary_count:
            return Page([], matching.count(), None)
        page = after_cursor(matching, query, by.sub, cursor) if cursor else matching
        fetched: list[Measurement] = list(_with_total(page, matching, query))
        # Only a page past the end needs its own count.
        return paged(fetched, None if fetched or not cursor else matching.count())

    form = query.prepared_form() if cursor is None else None
    gathering: Any = gather
    if form is not None:  # the first page, the integrator's first call: compiled once, prepared
        shape, values = form
        gathering = _FIRST_PAGE[query.withdrawn].read(paged, shape=shape, **values)

    def describe(page: Page) -> dict[str, Any]:
        if query.summary_count:
            return {"count": page.total, "summary": "count"}
        return _made_available(page.measurements)

    access = read_patient(
        by=by,
        patient=query.patient,
        basis=basis,
        reason=reason,
        event=events.API_SEARCH,
        context={"query": [list(p) for p in query.raw_params if p[0] not in PATIENT_PARAMS]},
        lookup=cursor is None,
        gather=gathering,
        describe=describe,
        withdrawn=query.withdrawn,
    )
    return _settled(access, Page([], 0, None))


# A read by id's query, prepared (sharing/access/granted.py): at most one row, the id being the key.
_ONE = GrantedQuery(lambda granted, *, shape, measurement_id: stored_text(granted.filter(pk=measurement_id)))


def read(*, by: Actor, measurement_id: uuid.UUID, basis: Basis, reason: str) -> Measurement:
    """One resource by id: decided on its patient first, loaded only through the granted query."""
    patient = patient_of_measurement(measurement_id)
    if patient is None:
        raise NotVisible

    def describe(found: Measurement | None) -> dict[str, Any]:
        # Granted for the patient but this resource is outside the scope: logged as a denial.
        return _made_available([found]) if found else {"resource": str(measurement_id), "denial": "out-of-scope"}

    access = read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event=events.API_READ,
        gather=_ONE.read(lambda found: found[0] if found else None, measurement_id=measurement_id),
        describe=describe,
        withheld=lambda found: found is None,
    )
    if access.result is None:
        raise NotVisible
    return access.result


def _newest(rows: QuerySet[Measurement], per_code: int, numbers: tuple[str, ...]) -> QuerySet[Measurement]:
    # Per code, the newest rows by the (patient, kind, effective) index, whatever the length of
    # the history; the raw resources of those rows only are joined (MeasurementQuerySet.newest_per_code).
    latest = cast("MeasurementQuerySet", rows).newest_per_code(per_code, patients=numbers)  # rows from granted()
    return stored_text(latest).order_by("kind", "-effective")


def _last_n_query(
    granted: QuerySet[Measurement], *, shape: Any, numbers: tuple[str, ...], max_per_code: int, **values: Any
) -> QuerySet[Measurement]:
    return _newest(stand_in(shape, values).filter(granted), max_per_code, numbers)


# $lastn, compiled once per shape of search and decision, and prepared on the server: unlike the
# first page's, its best plan does not depend on the values (an index probe per code of the
# patient's, newest first, whatever the history's length), and PostgreSQL's generic plan is that
# plan; planned per call it spent 0.28 ms planning against 0.25-0.4 ms running.
_LAST_N = GrantedQuery(_last_n_query, numbers=True)


def last_n(*, by: Actor, query: ObservationQuery, basis: Basis, reason: str, max_per_code: int) -> list[Measurement]:
    """$lastn: the latest `max_per_code` measurements of each code, found by index probes.

    A lookup like search: under the hourly limit, and counted against it.
    """

    def gather(granted: QuerySet[Measurement], decision: Decision) -> list[Measurement]:
        return list(_newest(query.filter(granted), max_per_code, decision.numbers))

    form = query.prepared_form()
    gathering: Any = gather
    if form is not None:  # compiled once per shape (sharing/access/granted.py)
        shape, values = form
        gathering = _LAST_N.read(list, shape=shape, max_per_code=max_per_code, **values)

    access = read_patient(
        by=by,
        patient=query.patient,
        basis=basis,
        reason=reason,
        event=events.API_LASTN,
        gather=gathering,
        describe=lambda rows: {**_made_available(rows), "max": max_per_code},
    )
    return _settled(access, [])


@dataclass(frozen=True)
class Version:
    """One version of a measurement as the API shows it: what the sender sent, numbered by ingest."""

    number: int
    last_updated: dt.datetime
    resource: dict[str, Any]
    flags: tuple[str, ...] = ()


def history(*, by: Actor, measurement_id: uuid.UUID, basis: Basis, reason: str) -> list[Version]:
    """Every version of one measurement, newest first, a withdrawal (entered-in-error) included.

    Decided on the measurement's patient before anything of it is loaded, like `read`; the same
    scope applies, with the withdrawn rows in it. Logged as api.read with view "history".
    """
    patient = patient_of_measurement(measurement_id, withdrawn=True)
    if patient is None:
        raise NotVisible

    def gather(granted: QuerySet[Measurement], _decision: Decision) -> list[Version]:
        found = granted.select_related("raw").prefetch_related("versions").filter(pk=measurement_id).first()
        if found is None:
            return []
        current = Version(found.version, last_updated(found), found.raw.resource, tuple(found.flags))
        earlier = [
            Version(v.version, v.received_at, v.resource, tuple(v.content.get("flags", ())))
            for v in found.versions.all()
        ]
        return sorted([current, *earlier], key=lambda v: -v.number)

    def describe(versions: list[Version]) -> dict[str, Any]:
        if not versions:
            return {"resource": str(measurement_id), "denial": "out-of-scope"}
        return {"view": "history", "ids": [str(measurement_id)], "versions": [v.number for v in versions]}

    access = read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event=events.API_READ,
        gather=gather,
        describe=describe,
        withheld=lambda versions: not versions,
        withdrawn=True,
    )
    if access.result is None:
        raise NotVisible
    return access.result


# Observation's summary elements (R4, isSummary), for _summary=true.
SUMMARY_ELEMENTS = frozenset(
    {
        "id", "meta", "implicitRules", "modifierExtension", "identifier", "basedOn", "partOf", "status",
        "category", "code", "subject", "focus", "encounter", "effectiveDateTime", "effectivePeriod",
        "effectiveTiming", "effectiveInstant", "issued", "performer", "dataAbsentReason", "hasMember",
        "derivedFrom", "component",
    }
)  # fmt: skip
_ALWAYS = frozenset({"resourceType", "id", "meta", "modifierExtension"})
SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}


def _kept(query: ObservationQuery) -> frozenset[str] | None:
    """The top-level elements _elements or _summary keep (choice types by their stem), or None: all."""
    if query.elements is not None:
        return _ALWAYS | {name.replace("[x]", "") for name in query.elements}
    if query.summary == "true":
        return _ALWAYS | SUMMARY_ELEMENTS | {"value", "effective"}
    return None


def _stem(name: str) -> str:
    for choice in ("value", "effective"):
        if name.startswith(choice) and name[len(choice) : len(choice) + 1].isupper():
            return choice
    return name


def subsets(query: ObservationQuery) -> bool:
    """Whether _summary or _elements cut the resources of this query's answer."""
    return _kept(query) is not None or query.summary == "data"


def subset(resource: dict[str, Any], query: ObservationQuery) -> dict[str, Any]:
    """The resource as _summary (true, data) and _elements ask, marked SUBSETTED when cut."""
    kept = _kept(query)
    if kept is not None:
        cut = {name: value for name, value in resource.items() if name in kept or _stem(name) in kept}
    elif query.summary == "data":
        cut = {name: value for name, value in resource.items() if name != "text"}
    else:
        return resource
    if len(cut) < len(resource):
        meta = dict(cut.get("meta", {}))
        cut["meta"] = {**meta, "tag": [*meta.get("tag", []), SUBSETTED]}
    return cut


def stored_text(rows: QuerySet[Measurement]) -> QuerySet[Measurement]:
    """`rows` with the stored resource as text (`resource_type`, `resource_body`, `resource_meta`)
    instead of as a parsed document: PostgreSQL hands the text over and nothing parses it."""
    without = Func(
        F("raw__resource"),
        Value("resourceType"),
        Value("id"),
        Value("meta"),
        arg_joiner=" - ",
        template="(%(expressions)s)",
        output_field=JSONField(),
    )
    return rows.only(*LISTED_FIELDS).annotate(
        resource_type=KeyTextTransform("resourceType", "raw__resource"),
        resource_body=Cast(without, TextField()),
        resource_meta=Cast(KeyTransform("meta", "raw__resource"), TextField()),
    )


def _stored_resource(measurement: Measurement) -> dict[str, Any]:
    text = getattr(measurement, "resource_body", None)
    if text is None:
        return measurement.raw.resource
    meta = getattr(measurement, "resource_meta", None)
    return {
        "resourceType": getattr(measurement, "resource_type", None) or "Observation",
        **json.loads(text),
        **({"meta": json.loads(meta)} if meta else {}),
    }


def resource_json(measurement: Measurement, base_url: str) -> str:
    """The resource as `as_resource` gives it, as JSON text: with `stored_text`'s columns the stored
    body is passed through as PostgreSQL wrote it, and only its meta is parsed (to add ours)."""
    body = getattr(measurement, "resource_body", None)
    if body is None or measurement.flags:  # flags extend the resource's own extension list: parse it
        return json.dumps(as_resource(measurement, base_url), ensure_ascii=False, separators=(",", ":"))
    meta_text = getattr(measurement, "resource_meta", None)
    meta = {
        **(json.loads(meta_text) if meta_text else {}),
        "versionId": str(measurement.version),
        "lastUpdated": fhir_instant(last_updated(measurement)),
    }
    head = json.dumps(
        {"resourceType": getattr(measurement, "resource_type", None) or "Observation", "id": str(measurement.id),
         "meta": meta},
        ensure_ascii=False,
        separators=(",", ":"),
    )  # fmt: skip
    rest = body.strip()[1:-1].strip()
    return f"{head[:-1]},{rest}}}" if rest else head


def last_updated(measurement: Measurement) -> dt.datetime:
    """When the stored version arrived: the last correction, else the first receipt."""
    return measurement.updated_at or measurement.received_at


def as_resource(measurement: Measurement | Version, base_url: str, measurement_id: str = "") -> dict[str, Any]:
    """The resource as received, under our id, with its version and our ingest flags as a documented extension."""
    if isinstance(measurement, Version):
        version = measurement
    else:
        stored = _stored_resource(measurement)
        version = Version(measurement.version, last_updated(measurement), stored, measurement.flags)
        measurement_id = str(measurement.id)
    resource: dict[str, Any] = dict(version.resource)
    resource["id"] = measurement_id
    resource["meta"] = {
        **resource.get("meta", {}),
        "versionId": str(version.number),
        "lastUpdated": fhir_instant(version.last_updated),
    }
    if version.flags:
        flags = [{"url": FLAGS_EXTENSION, "valueString": flag} for flag in version.flags]
        resource["extension"] = [*resource.get("extension", []), *flags]
    return resource


def fhir_instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
