"""Observation search parameters: parsed strictly, applied to the measurement table, paged by cursor.

Every search names one patient (`patient.identifier`); there is no search across patients.
Paging is keyset paging on (effective, id); the cursor is signed and bound to the exact
query and the caller, so it cannot be edited or reused to widen what is returned. The
access decision runs again for every page, so a cursor never carries access on its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.db.models import Expression, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import make_aware
from django.utils.translation import gettext_lazy as _

from sharing.fhir.errors import Said
from sharing.fhir.observation.guard import clean_text
from sharing.fhir.observation.profiles import PROFILES, classify
from sharing.identifiers import (
    PATIENT_SYSTEMS,
    InvalidIdentifier,
    NationalId,
    national_id_for_system,
    parse_national_id,
)

if TYPE_CHECKING:  # annotations only: rows come from the access layer's granted query
    from sharing.measurements.models import Measurement

SUPPORTED = frozenset(
    {
        "patient.identifier",
        "patient:identifier",
        "subject.identifier",
        "subject:Patient.identifier",
        "code",
        "category",
        "date",
        "status",
        "_lastUpdated",
        "_id",
        "_count",
        "_sort",
        "_summary",
        "_elements",
        "_total",
        "_totalMethod",
        "_format",
    }
)
# Chained forms of patient.identifier that clients send (fhirclient, HAPI): one patient all the same.
PATIENT_PARAMS = ("patient.identifier", "patient:identifier", "subject.identifier", "subject:Patient.identifier")
# fhirpy's count() sends _totalMethod (Aidbox's name for _total): accepted as _total is.
ALIASES = {"_totalMethod": "_total"}
SUMMARIES = ("true", "count", "data", "false")
TOTALS = ("none", "estimate", "accurate", "count")
JSON_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir")
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
# pre-R4 comparators (fhirclient writes date=>=2026-01-01): the same as the R4 prefixes.
_OLD_PREFIXES = {">=": "ge", "<=": "le", ">": "gt", "<": "lt"}
SORTS = ("-date", "date", "_lastUpdated", "-_lastUpdated")
CURSOR = "_cursor"
DEFAULT_COUNT = 50
MAX_COUNT = 1000
_PREFIXES = {"ge": "gte", "le": "lte", "gt": "gt", "lt": "lt", "eq": "eq"}
# Categories are implied by the kind (the VKP profiles fix them), so they map to kinds.
_VITAL_SIGN_KINDS = frozenset(str(p.kind) for p in PROFILES if p.vital_sign)
_CATEGORY_KINDS = {
    "vital-signs": _VITAL_SIGN_KINDS,
    "survey": frozenset({"consciousness", "news2", "cfs", "questionnaire_score"}),
    "laboratory": frozenset({"glucose"}),
}


class SearchError(ValueError):
    """A search that cannot be answered as asked: a stable code, and a message in the caller's language."""

    def __init__(self, code: str, message: Any, **values: Any) -> None:
        self.said = Said(code, message, **values)
        super().__init__(str(self.said))


@dataclass(frozen=True)
class DateBound:
    op: str  # gte, lte, gt, lt, eq
    value: dt.datetime
    end: dt.datetime  # for day/month precision: the end of the period the value names


@dataclass(frozen=True)
class ObservationQuery:
    patient: NationalId
    codes: tuple[tuple[str, str], ...] = ()
    kinds_by_code: frozenset[str] = frozenset()
    categories: tuple[str, ...] = ()
    dates: tuple[DateBound, ...] = ()
    statuses: tuple[str, ...] = ()
    # _lastUpdated bounds: when the stored version arrived (incremental sync); with any, withdrawn
    # measurements are found too, so a poller learns of a withdrawal.
    updated: tuple[DateBound, ...] = ()
    ids: tuple[str, ...] = ()
    count: int = DEFAULT_COUNT
    descending: bool = True
    by_last_updated: bool = False
    # _summary=true / data and _elements: which top-level elements each resource keeps (None: all).
    elements: frozenset[str] | None = None
    summary: str = ""
    summary_count: bool = False
    raw_params: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def withdrawn(self) -> bool:
        """Whether withdrawn measurements are found too: in an incremental sync (_lastUpdated)."""
        return bool(self.updated) or self.by_last_updated

    def fingerprint(self, actor_sub: str) -> str:
        """What a cursor is bound to: every parameter but the cursor, and the caller."""
        canonical = json.dumps([sorted(self.raw_params), actor_sub], separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    def filter(self, qs: QuerySet[Measurement]) -> QuerySet[Measurement]:
        # The patient is already the decision's (granted rows are the person's, linked numbers included).
        return _filtered(
            qs,
            kinds=tuple(sorted(self.kinds_by_code)),
            codes=self.codes,
            categories=self._category_kinds(),
            dates=self.dates,
            statuses=self.statuses,
            ids=self.ids,
            updated=self.updated,
        )

    def _category_kinds(self) -> tuple[tuple[str, ...], ...]:
        """Each category as the kinds it stands for (the VKP profiles fix a kind's category)."""
        return tuple(tuple(sorted(_CATEGORY_KINDS.get(c, frozenset()))) for c in self.categories)

    def prepared_form(self) -> tuple[Hashable, dict[str, Any]] | None:
        """This search as the shape of its SQL and the values that are its parameters, for a prepared
        read (sharing/access/granted.py; `stand_in` turns them back into the filters); None for a
        search by `_id` or a count only, which run as they are."""
        if self.ids or self.summary_count:
            return None
        values: dict[str, Any] = {}
        for i, (system, code) in enumerate(self.codes):
            values[f"code{i}"] = code
            values[f"system{i}"] = system
        for name, bounds in (("date", self.dates), ("updated", self.updated)):
            for i, bound in enumerate(bounds):
                values[f"{name}{i}"] = bound.value
                values[f"{name}_end{i}"] = bound.end
        for i, status in enumerate(self.statuses):
            values[f"status{i}"] = status
        shape = (
            tuple(sorted(self.kinds_by_code)),
            tuple(bool(system) for system, _code in self.codes),
            self._category_kinds(),
            tuple(bound.op for bound in self.dates),
            len(self.statuses),
            tuple(bound.op for bound in self.updated),
            self.count,
            self.descending,
            self.by_last_updated,
        )
        return shape, values


@dataclass(frozen=True)
class StandIn:
    """What the filters and the order of a search are made of, from `prepared_form`'s shape and values."""

    count: int
    descending: bool
    by_last_updated: bool
    filters: dict[str, Any]

    def filter(self, qs: QuerySet[Measurement]) -> QuerySet[Measurement]:
        return _filtered(qs, **self.filters)


def stand_in(shape: Any, values: Mapping[str, Any]) -> StandIn:
    kinds, codes, categories, date_ops, statuses, updated_ops, count, descending, by_last_updated = shape

    def bounds(name: str, ops: tuple[str, ...]) -> tuple[DateBound, ...]:
        return tuple(DateBound(op, values[f"{name}{i}"], values[f"{name}_end{i}"]) for i, op in enumerate(ops))

    filters = {
        "kinds": kinds,
        "codes": tuple((values[f"system{i}"] if system else "", values[f"code{i}"]) for i, system in enumerate(codes)),
        "categories": categories,
        "dates": bounds("date", date_ops),
        "statuses": tuple(values[f"status{i}"] for i in range(statuses)),
        "ids": (),
        "updated": bounds("updated", updated_ops),
    }
    return StandIn(count, descending, by_last_updated, filters)


def _filtered(
    qs: QuerySet[Measurement],
    *,
    kinds: tuple[str, ...],
    codes: tuple[tuple[str, str], ...],
    categories: tuple[tuple[str, ...], ...],
    dates: tuple[DateBound, ...],
    statuses: tuple[str, ...],
    ids: tuple[str, ...],
    updated: tuple[DateBound, ...],
) -> QuerySet[Measurement]:
    if kinds or codes:
        # A code a profile knows is matched by its kind (ingest stores it only under that kind),
        # so the common search is one probe of the (patient, kind, effective) index.
        q = Q(kind__in=list(kinds)) if kinds else Q(pk__in=[])
        for system, code in codes:
            q |= Q(code=code) if not system else Q(code_system=system, code=code)
        qs = qs.filter(q)
    for category_kinds in categories:
        qs = qs.filter(kind__in=list(category_kinds))
    for bound in dates:
        qs = qs.filter(_date_q(bound))
    if statuses:
        qs = qs.filter(status__in=statuses)
    if ids:
        qs = qs.filter(pk__in=list(ids))
    for bound in updated:
        qs = qs.filter(_LOOKUPS[bound.op](LAST_UPDATED, bound.value))
    return qs


# When the stored version arrived (meta.lastUpdated): the last correction, else the first receipt.
LAST_UPDATED: Expression = Coalesce(F("updated_at"), F("received_at"))
_LOOKUPS: dict[str, Any] = {
    "gt": GreaterThan,
    "gte": GreaterThanOrEqual,
    "lt": LessThan,
    "lte": LessThanOrEqual,
    "eq": Exact,
}


def _date_q(bound: DateBound) -> Q:
    if bound.op == "eq":
        return Q(effective__gte=bound.value, effective__lt=bound.end)
    if bound.op in {"gt", "lte"}:
        # "after 2026-01-01" with day precision means after that whole day.
        return Q(**{f"effective__{'gte' if bound.op == 'gt' else 'lt'}": bound.end})
    return Q(**{f"effective__{bound.op}": bound.value})


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise SearchError("param-repeated", _("%(name)s may be given only once."), name=name)
    return values[0] if values else None


def _patient(params: Mapping[str, Sequence[str]]) -> NationalId:
    given = [name for name in PATIENT_PARAMS if params.get(name)]
    if len(given) > 1:
        raise SearchError(
            "patient-repeated", _("Name the patient once: %(given)s were all given."), given=", ".join(given)
        )
    token = _one(params, given[0]) if given else None
    if not token:
        raise SearchError(
            "patient-required", _("patient.identifier (system|value) is required: searches are for one patient.")
        )
    system, sep, value = token.partition("|")
    if not sep:
        system, value = "", token
    try:
        if system:
            if system not in PATIENT_SYSTEMS:
                raise SearchError(
                    "patient-system", _("patient.identifier must use the fødselsnummer, D-number or FHN system.")
                )
            return national_id_for_system(system, value)
        return parse_national_id(value)
    except InvalidIdentifier as exc:
        raise SearchError(
            "patient-invalid", _("patient.identifier is not a valid national identity number: %(why)s"), why=exc.message
        ) from exc


def _codes(params: Mapping[str, Sequence[str]]) -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
    codes: list[tuple[str, str]] = []
    kinds: set[str] = set()
    for value in params.get("code", []):
        for token in value.split(","):
            system, sep, code = token.partition("|")
            if not sep:
                system, code = "", token
            if not code:
                raise SearchError("code-empty", _("code %(token)r names no code."), token=token)
            profile = classify([(system, code)]) if system else None
            if profile is not None and str(profile.kind) != "other":
                kinds.add(str(profile.kind))
            else:  # no profile knows it (or no system given): matched by the code itself
                codes.append((system, code))
    return tuple(codes), frozenset(kinds)


def _parse_instant(text: str) -> tuple[dt.datetime, dt.datetime]:
    """A FHIR date or dateTime, and the end of the period its precision names."""
    day = parse_date(text) if len(text) == 10 else None
    if day is not None:
        start = make_aware(dt.datetime.combine(day, dt.time()))
        return start, start + dt.timedelta(days=1)
    if len(text) == 7 and text[4] == "-":
        year, month = int(text[:4]), int(text[5:])
        start = make_aware(dt.datetime(year, month, 1))  # noqa: DTZ001 - made aware on this line
        following = dt.datetime(year + month // 12, month % 12 + 1, 1)  # noqa: DTZ001
        return start, make_aware(following)
    if len(text) == 4 and text.isdigit():
        start = make_aware(dt.datetime(int(text), 1, 1))  # noqa: DTZ001
        return start, make_aware(dt.datetime(int(text) + 1, 1, 1))  # noqa: DTZ001
    moment = parse_datetime(text)
    if moment is None:
        raise ValueError(text)
    if moment.tzinfo is None:
        moment = make_aware(moment)
    return moment, moment


def _dates(params: Mapping[str, Sequence[str]]) -> tuple[DateBound, ...]:
    bounds = []
    for given in params.get("date", []):
        value = given
        for old, prefix in _OLD_PREFIXES.items():
            if given.startswith(old):
                value = prefix + given[len(old) :]
                break
        prefix, rest = (value[:2], value[2:]) if value[:2] in _PREFIXES else ("eq", value)
        try:
            start, end = _parse_instant(rest)
        except (ValueError, OverflowError) as exc:
            raise SearchError(
                "date-invalid", _("date %(value)r is not a FHIR date or dateTime with an optional prefix."), value=value
            ) from exc
        bounds.append(DateBound(_PREFIXES[prefix], start, end))
    return tuple(bounds)


def _updated(params: Mapping[str, Sequence[str]]) -> tuple[DateBound, ...]:
    """_lastUpdated: gt, ge, lt or le and an instant (dateTime with a time zone) or a date."""
    bounds = []
    for value in params.get("_lastUpdated", []):
        prefix, rest = value[:2], value[2:]
        if prefix not in {"gt", "ge", "lt", "le"}:
            raise SearchError(
                "last-updated-prefix", _("_lastUpdated %(value)r needs a prefix: gt, ge, lt or le."), value=value
            )
        try:
            start, end = _parse_instant(rest)
        except (ValueError, OverflowError) as exc:
            raise SearchError(
                "last-updated-invalid",
                _("_lastUpdated %(value)r is not a prefix and a FHIR instant or date."),
                value=value,
            ) from exc
        op = _PREFIXES[prefix]
        if end == start:  # an instant: as it says
            bounds.append(DateBound(op, start, end))
        elif op in {"gt", "lte"}:  # a date: "after" it is after the whole day, "up to" it includes it
            bounds.append(DateBound("gte" if op == "gt" else "lt", end, end))
        else:
            bounds.append(DateBound(op, start, end))
    return tuple(bounds)


def _ids(params: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """_id: our ids, comma for OR. Something that is no UUID names nothing here (found: none)."""
    ids: list[str] = []
    for value in params.get("_id", []):
        for token in value.split(","):
            try:
                ids.append(str(uuid.UUID(token.strip())))
            except ValueError:
                ids.append(str(uuid.UUID(int=0)))  # matches no measurement
    return tuple(ids)


def _categories(params: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    categories = []
    for value in params.get("category", []):
        for token in value.split(","):
            system, sep, code = token.rpartition("|")
            if sep and system not in {"", CATEGORY_SYSTEM}:
                raise SearchError(
                    "category-system",
                    _("category system must be %(expected)s, not %(system)r."),
                    expected=CATEGORY_SYSTEM,
                    system=system,
                )
            categories.append(code)
    unknown = sorted(set(categories) - set(_CATEGORY_KINDS))
    if unknown:
        raise SearchError("category-unknown", _("Unsupported category: %(unknown)s."), unknown=", ".join(unknown))
    return tuple(categories)


def _elements(params: Mapping[str, Sequence[str]]) -> frozenset[str] | None:
    raw = _one(params, "_elements")
    if raw is None:
        return None
    names = {name.strip() for name in raw.split(",") if name.strip()}
    bad = sorted(name for name in names if not name.replace("[x]", "").isalnum())
    if bad:
        raise SearchError(
            "elements-invalid",
            _("_elements names top-level elements, comma-separated; not %(bad)s."),
            bad=", ".join(bad),
        )
    return frozenset(names)


def _count(params: Mapping[str, Sequence[str]]) -> int:
    raw = _one(params, "_count")
    if raw is None:
        return DEFAULT_COUNT
    if not raw.isdigit() or not 0 <= int(raw) <= MAX_COUNT:
        raise SearchError("count-invalid", _("_count must be a whole number from 0 to %(max)s."), max=MAX_COUNT)
    return int(raw)


def unknown_parameters(params: Mapping[str, Sequence[str]]) -> list[str]:
    return sorted(set(params) - SUPPORTED - {CURSOR})


def parse_query(params: Mapping[str, Sequence[str]], *, lenient: bool = False) -> ObservationQuery:
    """Parse search parameters (a mapping of name to every value given, as QueryDict.lists()).

    Unknown parameters are refused, unless `lenient` (Prefer: handling=lenient): then ignored.
    """
    if hasattr(params, "lists"):  # a QueryDict: .get() would give only the last value
        params = dict(params.lists())
    for name, values in params.items():
        if not all(clean_text(value) for value in (name, *values)):
            raise SearchError(
                "param-unclean", _("Search parameter %(name)r holds a NUL or an unpaired surrogate."), name=name
            )
    unknown = unknown_parameters(params)
    if unknown and not lenient:
        raise SearchError(
            "param-unknown",
            _(
                "Unsupported search parameter(s): %(unknown)s. "
                "GET /fhir/metadata lists the supported ones; Prefer: handling=lenient ignores the others."
            ),
            unknown=", ".join(unknown),
        )
    params = {ALIASES.get(k, k): v for k, v in params.items() if k not in unknown}
    sort = _one(params, "_sort") or "-date"
    if sort not in SORTS:
        raise SearchError("sort-invalid", _("_sort supports %(sorts)s."), sorts=", ".join(SORTS))
    summary = _one(params, "_summary") or ""
    if summary and summary not in SUMMARIES:
        raise SearchError("summary-invalid", _("_summary supports %(values)s."), values=", ".join(SUMMARIES))
    total = _one(params, "_total")
    if total is not None and total not in TOTALS:
        raise SearchError(
            "total-invalid", _("_total supports %(values)s; the total is always exact."), values=", ".join(TOTALS)
        )
    fmt = _one(params, "_format")
    if fmt is not None and fmt.split(";")[0].strip() not in JSON_FORMATS:
        raise SearchError(
            "format-invalid", _("_format: this server speaks FHIR JSON only (json, application/fhir+json).")
        )
    categories = _categories(params)
    codes, kinds = _codes(params)
    count = _count(params)
    return ObservationQuery(
        patient=_patient(params),
        codes=codes,
        kinds_by_code=kinds,
        categories=categories,
        dates=_dates(params),
        statuses=tuple(s for value in params.get("status", []) for s in value.split(",") if s),
        updated=_updated(params),
        count=count,
        descending=sort.startswith("-"),
        by_last_updated=sort.endswith("_lastUpdated"),
        summary_count=summary == "count" or count == 0,
        ids=_ids(params),
        elements=_elements(params),
        summary=summary,
        raw_params=tuple((k, v) for k, values in params.items() if k != CURSOR for v in values),
    )


# --- cursors -----------------------------------------------------------------------------

_SALT = "sharing.fhir.search.cursor"


def _key(query: ObservationQuery, row: Measurement) -> dt.datetime:
    return (row.updated_at or row.received_at) if query.by_last_updated else row.effective


def make_cursor(query: ObservationQuery, actor_sub: str, last: Measurement) -> str:
    return signing.dumps(
        {"q": query.fingerprint(actor_sub), "e": _key(query, last).isoformat(), "i": str(last.id)}, salt=_SALT
    )


def after_cursor(
    qs: QuerySet[Measurement], query: ObservationQuery, actor_sub: str, cursor: str
) -> QuerySet[Measurement]:
    try:
        position: dict[str, Any] = signing.loads(cursor, salt=_SALT, max_age=settings.FHIR_CURSOR_MAX_AGE_SECONDS)
    except signing.BadSignature as exc:
        raise SearchError(
            "cursor-invalid", _("The paging cursor is invalid or has expired; start the search again.")
        ) from exc
    if position.get("q") != query.fingerprint(actor_sub):
        raise SearchError("cursor-other-search", _("The paging cursor belongs to another search."))
    key = dt.datetime.fromisoformat(position["e"])
    last_id = position["i"]
    column: Any = LAST_UPDATED if query.by_last_updated else F("effective")
    before = LessThan if query.descending else GreaterThan
    return qs.filter(
        Q(before(column, key)) | Q(Exact(column, key), **{"id__lt" if query.descending else "id__gt": last_id})
    )


def ordering(query: ObservationQuery | StandIn) -> tuple[Any, Any]:
    """A stable order: the sort key, then the id."""
    column: Any = LAST_UPDATED if query.by_last_updated else F("effective")
    if query.descending:
        return column.desc(), F("id").desc()
    return column.asc(), F("id").asc()
