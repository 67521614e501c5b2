"""Reads for the clinician's patient page: the latest value per kind, the change against the
previous period, thresholds, a daily trend, and chart series aggregated on the server.

Every function takes a queryset an access decision has already narrowed (sharing.access
builds it); nothing here decides who may see what. Reads return plain tuples, not model
instances, and the overview aggregates in the database, so a year of measurements stays
cheap to read.
The default thresholds and the alert rules are documented in docs/clinician.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import (
    BooleanField,
    Count,
    F,
    FloatField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from sharing.core.kinds import Kind

from . import trends
from .models import Measurement
from .thresholds import DEFAULT_RANGES, Range, State, consciousness_alert, own_range, range_for
from .trends import Alert

__all__ = ["DEFAULT_RANGES", "Alert", "Range", "State"]  # read from here by the pages and the benchmark

AMENDED_STATUSES = frozenset({"amended", "corrected"})
# Blood pressure is read as a pair; every other numeric kind has one value.
PARTS: dict[str, tuple[str, ...]] = {Kind.BLOOD_PRESSURE: ("systolic", "diastolic")}
# The order of the cards: the overall score first, then vital signs, then the rest.
KIND_ORDER: tuple[str, ...] = (
    Kind.NEWS2,
    Kind.BLOOD_PRESSURE,
    Kind.HEART_RATE,
    Kind.OXYGEN_SATURATION,
    Kind.RESPIRATORY_RATE,
    Kind.BODY_TEMPERATURE,
    Kind.BODY_WEIGHT,
    Kind.GLUCOSE,
    Kind.CONSCIOUSNESS,
    Kind.CFS,
    Kind.QUESTIONNAIRE_SCORE,
    Kind.OTHER,
)
TREND_DAYS = 30  # the cards' trend line and the window the overview reads
RECENT_DAYS = 7  # "this period" against the 7 days before it


# NEWS2 clinical risk by total score (Royal College of Physicians, 2017).
NEWS2_BANDS: tuple[tuple[str, float, float], ...] = (("low", 0, 4), ("medium", 5, 6), ("high", 7, 20))


def parts_of(kind: str) -> tuple[str, ...]:
    return PARTS.get(kind, ("value",))


def news2_risk(total: float | None) -> str | None:
    if total is None:
        return None
    return next((band for band, low, high in NEWS2_BANDS if low <= total <= high), "high")


READING_FIELDS = (
    "id",
    "kind",
    "effective",
    "status",
    "value",
    "unit",
    "value_code",
    "value_display",
    "components",
    "reference_low",
    "reference_high",
    "flags",
    "source_orgnr",
    "patient_display",
    "version",
    "ranges",
    "interpretation",
    "note",
    "device",
)


@dataclass(frozen=True)
class Reading:
    """One measurement as the patient page shows it."""

    id: uuid.UUID
    kind: str
    effective: dt.datetime
    status: str
    values: dict[str, float]  # part -> value: {"value": 72} or {"systolic": 138, "diastolic": 84}
    unit: str
    text: str  # a coded value's display, when there is no number
    reference: Range | None  # the measurement's own referenceRange
    flags: tuple[str, ...]
    source_orgnr: str
    patient_display: str
    components: dict[str, Any] = field(default_factory=dict)
    version: int = 1  # above 1: a correction replaced the value first sent
    own: dict[str, Range] = field(default_factory=dict)  # the municipality's ranges, per part
    interpretation: str = ""  # the municipality's system's interpretation code (traffic light)
    note: str = ""
    device: str = ""

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Reading:
        (pk, kind, effective, status, value, unit, code, display, comps, low, high, flags, source, name, version,
         ranges, interpretation, note, device) = row[: len(READING_FIELDS)]  # fmt: skip
        comps = comps or {}
        if kind in PARTS:
            values = {p: float(comps[p]) for p in PARTS[kind] if isinstance(comps.get(p), int | float)}
        else:
            values = {"value": float(value)} if value is not None else {}
        own = {}
        if (single := own_range(kind, low, high)) is not None:
            own["value"] = single
        for part, bounds in (ranges or {}).items():
            if isinstance(bounds, list) and len(bounds) == 2 and (found := own_range(kind, *bounds)) is not None:
                own[part] = found
        reference = own.get("value")
        text = display or code
        return cls(
            pk, kind, effective, status, values, unit, text, reference, tuple(flags or ()), source, name, comps,
            version, own, interpretation or "", note or "", device or "",
        )  # fmt: skip

    @property
    def amended(self) -> bool:
        return self.status in AMENDED_STATUSES or self.version > 1

    @property
    def has_ranges(self) -> bool:
        return bool(self.own)

    def range_for(self, part: str) -> Range | None:
        """The municipality's range for this part on this reading, else the default."""
        return range_for(self.kind, part, self.own.get(part))

    def state(self, part: str) -> State | None:
        rng = self.range_for(part)
        return rng.state(self.values.get(part)) if rng else None


@dataclass(frozen=True)
class PartSummary:
    part: str
    latest: float | None
    range: Range | None
    state: State | None
    mean_recent: float | None  # the last RECENT_DAYS days (today included)
    mean_previous: float | None  # the RECENT_DAYS days before those
    trend: tuple[tuple[dt.date, float], ...]  # daily means over the last TREND_DAYS days

    @property
    def change(self) -> float | None:
        if self.mean_recent is None or self.mean_previous is None:
            return None
        return self.mean_recent - self.mean_previous


@dataclass(frozen=True)
class KindSummary:
    kind: str
    latest: Reading
    count: int  # readings the card draws on: those in the trend window, else the latest alone
    first: dt.datetime  # the oldest of those
    recent_count: int  # in the last RECENT_DAYS days
    parts: tuple[PartSummary, ...]
    alerts: tuple[Alert, ...]  # trends.py and the NEWS2 / ACVPU rules below


@dataclass(frozen=True)
class Overview:
    now: dt.datetime
    kinds: tuple[KindSummary, ...]

    @property
    def patient_display(self) -> str:
        """The name in the newest measurement's subject.display."""
        named = [k.latest for k in self.kinds if k.latest.patient_display]
        return max(named, key=lambda r: r.effective).patient_display if named else ""

    @property
    def count(self) -> int:
        return sum(k.count for k in self.kinds)

    @property
    def period(self) -> tuple[dt.datetime, dt.datetime] | None:
        if not self.kinds:
            return None
        return min(k.first for k in self.kinds), max(k.latest.effective for k in self.kinds)


def local_midnight(day: dt.date) -> dt.datetime:
    return _midnight(day, timezone.get_default_timezone())


@functools.lru_cache(maxsize=4096)
def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    # A year's chart asks for 366 of them on every view, the same ones each time.
    return timezone.make_aware(dt.datetime.combine(day, dt.time()), zone)


def local_day(moment: dt.datetime) -> dt.date:
    # The default zone (Europe/Oslo) is cached; the "current" one costs a thread-local lookup
    # per call, which adds up over a year of readings. The portal never activates another.
    return moment.astimezone(timezone.get_default_timezone()).date()


@dataclass
class _Day:
    """One kind's readings on one local day of the trend window."""

    day: dt.date
    count: int
    first: dt.datetime
    sums: dict[str, tuple[float, int]]  # part -> (sum, count)
    lows: dict[str, float]  # the single value's lowest of the day (weight gain); parts have none


# Part -> the expression its number is read from, for the daily aggregates.
_PART_VALUES = {
    "value": F("value"),
    "systolic": Cast(KT("components__systolic"), FloatField()),
    "diastolic": Cast(KT("components__diastolic"), FloatField()),
}


# Each part's columns in `days_query`'s rows: (part, its sum, its count), named once.
_PART_COLUMNS = tuple((part, f"{part}_sum", f"{part}_n") for part in _PART_VALUES)


# Ingest gives every row one of these (sharing.fhir.observation.normalise: Incoming.kind is a Kind).
_EVERY_KIND = tuple(kind.value for kind in Kind)


def days_query(qs: QuerySet[Measurement], window_start: dt.datetime) -> QuerySet[Measurement, dict[str, Any]]:
    """Per kind and local day, over the trend window only (one aggregate query): only what the
    summaries use (each row's values are parsed in Python, 180 rows a page)."""
    aggregates: dict[str, Any] = {"n": Count("id"), "first": Min("effective"), "value_min": Min(F("value"))}
    for part, expression in _PART_VALUES.items():
        aggregates |= {f"{part}_sum": Sum(expression), f"{part}_n": Count(expression)}
    return (
        # Every kind named: the (patient, kind, effective) index is then read kind by kind from
        # the window's start, rather than the whole history's entries read and checked for the
        # date (0.92 -> 0.69 ms on the server for a month of four readings a day of six kinds).
        qs.filter(kind__in=_EVERY_KIND, effective__gte=window_start)
        .annotate(day=TruncDate("effective", tzinfo=timezone.get_current_timezone()))
        .values("kind", "day")
        .annotate(**aggregates)
        .order_by()
    )


def _days(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[_Day]]:
    found: dict[str, list[_Day]] = defaultdict(list)
    for row in rows:
        sums = {part: (row[total], row[count]) for part, total, count in _PART_COLUMNS if row[count]}
        lows = {"value": row["value_min"]} if "value" in sums else {}
        found[row["kind"]].append(_Day(row["day"], row["n"], row["first"], sums, lows))
    return found


def trend_window_start(now: dt.datetime) -> dt.datetime:
    """Where the overview's daily aggregates begin: local midnight TREND_DAYS - 1 days before today."""
    return local_midnight(local_day(now) - dt.timedelta(days=TREND_DAYS - 1))


def probed_kinds(days: Mapping[str, object], others: Iterable[str]) -> list[str]:
    """The kinds `_latest` probes: those with readings in the window, and `others`."""
    return sorted({*days, *others})


def latest_query(qs: QuerySet[Measurement], kinds: Sequence[str], window_start: dt.datetime) -> QuerySet[Any, Any]:
    """Each kind's newest row, and its newest in the window that carries the municipality's ranges
    (PostgreSQL): two index probes per kind (newest first, limit 1) in a lateral join over the
    kinds find the ids, and the rows are read by them. One query of the ORM, so the patient page
    can run it compiled once and prepared (sharing/access/granted.py)."""
    inner, params = (
        qs.order_by()
        .values("id", "kind", "effective", "ranges", "reference_low", "reference_high")
        .query.sql_with_params()
    )
    newest = "ORDER BY m.effective DESC, m.id DESC LIMIT 1"
    ranged = "(m.ranges <> '{}'::jsonb OR m.reference_low IS NOT NULL OR m.reference_high IS NOT NULL)"
    sql = (
        "SELECT r.id FROM unnest(%s::varchar[]) AS k(kind) CROSS JOIN LATERAL ("  # noqa: S608 - the queryset's own SQL
        f"(SELECT m.id FROM ({inner}) AS m WHERE m.kind = k.kind {newest}) UNION ALL "
        f"(SELECT m.id FROM ({inner}) AS m WHERE m.kind = k.kind AND m.effective >= %s AND {ranged} {newest})"
        ") AS r"
    )
    # The probes' ids as one array, made once (an InitPlan), then read by primary key: with `IN`
    # the planner may instead run the probes once per row of the patient when its statistics are
    # young (seen in the tests: a year of rows, a plan that never finished).
    table = qs.model._meta.db_table
    probed = RawSQL(  # noqa: S611 - names and values bound as parameters
        f'"{table}"."id" = ANY(ARRAY({sql}))',
        [list(kinds), *params, *params, window_start],
        output_field=BooleanField(),
    )
    return qs.filter(probed).order_by("kind", "-effective", "-id").values_list(*READING_FIELDS)


def _latest(
    qs: QuerySet[Measurement],
    kinds: list[str],
    window_start: dt.datetime,
    fetch: Callable[[list[str]], Iterable[Sequence[Any]]] | None = None,
) -> tuple[dict[str, Reading], dict[str, Reading]]:
    """The newest reading of each of `kinds`, and the newest in the window that carries the
    municipality's ranges: `latest_query`'s rows, run by `fetch` when the caller prepared it.

    Kinds with readings in the window and the kinds that may have older readings only are probed
    alike. (Matching them with one OR of conditions instead made PostgreSQL read every reading of
    the patient's history and filter it; a UNION of ORM subqueries cost more to compile than to run.)
    """
    if not kinds:
        return {}, {}
    if fetch is not None:
        rows = fetch(kinds)
    elif connections[qs.db].vendor != "postgresql":
        rows = _latest_by_kind(qs, kinds, window_start)
    else:
        rows = latest_query(qs, kinds, window_start)
    latest: dict[str, Reading] = {}
    planned: dict[str, Reading] = {}
    for reading in map(Reading.from_row, rows):
        latest.setdefault(reading.kind, reading)
        if reading.has_ranges:
            planned.setdefault(reading.kind, reading)
    return latest, planned


def _latest_by_kind(qs: QuerySet[Measurement], kinds: list[str], window_start: dt.datetime) -> list[Sequence[Any]]:
    """The same rows as `latest_query`, a query per kind and probe: SQLite (`make run`'s
    zero-setup default) has neither arrays nor LATERAL."""
    ranged = ~Q(ranges={}) | Q(reference_low__isnull=False) | Q(reference_high__isnull=False)
    rows: list[Sequence[Any]] = []
    for kind in kinds:
        newest = qs.filter(kind=kind).order_by("-effective", "-id").values_list(*READING_FIELDS)
        planned = newest.filter(ranged, effective__gte=window_start)
        rows.extend(row for row in (newest.first(), planned.first()) if row is not None)
    return rows


def _mean(days: Iterable[_Day], part: str) -> float | None:
    total, count = 0.0, 0
    for d in days:
        part_sum, part_count = d.sums.get(part, (0.0, 0))
        total, count = total + part_sum, count + part_count
    return total / count if count else None


def _part_summary(part: str, latest: Reading, rng: Range | None, days: list[_Day], today: dt.date) -> PartSummary:
    recent_from = today - dt.timedelta(days=RECENT_DAYS - 1)
    previous_from = recent_from - dt.timedelta(days=RECENT_DAYS)
    dated = [d for d in days if part in d.sums]
    trend = sorted((d.day, d.sums[part][0] / d.sums[part][1]) for d in dated)
    return PartSummary(
        part=part,
        latest=latest.values.get(part),
        range=rng,
        state=rng.state(latest.values.get(part)) if rng else None,
        mean_recent=_mean((d for d in dated if d.day >= recent_from), part),
        mean_previous=_mean((d for d in dated if previous_from <= d.day < recent_from), part),
        trend=tuple(trend),
    )


def _alerts(kind: str, latest: Reading, parts: Sequence[PartSummary], days: list[_Day], today: dt.date) -> list[Alert]:
    """The trend rules (trends.py) and the single-reading NEWS2 and ACVPU rules."""
    found: list[Alert | None] = [trends.mean_outside(p.mean_recent, p.range, p.part) for p in parts]
    means = {p.part: dict(p.trend) for p in parts}
    value = latest.values.get("value")
    if kind == Kind.BODY_WEIGHT and value is not None:
        lows = {d.day: d.lows["value"] for d in days if "value" in d.lows}
        found.append(trends.weight_gain(value, local_day(latest.effective), lows))
    if kind == Kind.NEWS2 and value is not None:
        found.append(trends.news2_rising(value, local_day(latest.effective), means["value"]))
        if any(v == 3 for v in latest.components.values()):
            found.append(Alert("news2-single-parameter"))
    if kind == Kind.OXYGEN_SATURATION:
        found.append(trends.spo2_falling(today, means["value"]))
    if kind == Kind.CONSCIOUSNESS and consciousness_alert(latest.text, latest.text):
        found.append(Alert("acvpu-not-alert"))
    return [a for a in found if a is not None]


def _order(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def overview(
    qs: QuerySet[Measurement],
    *,
    now: dt.datetime,
    kinds: Iterable[str] | None = None,
    day_rows: Iterable[Mapping[str, Any]] | None = None,
    latest_rows: Callable[[list[str]], Iterable[Sequence[Any]]] | None = None,
) -> Overview:
    """Per kind: the latest reading and daily aggregates over the last TREND_DAYS days.

    Two queries whatever the length of the history: daily aggregates over the window, then
    the newest row of each kind by index. `kinds` names the kinds that may have only older
    readings (default: every kind), each found by one index probe. `day_rows`: the rows of
    `days_query(qs, trend_window_start(now))` when the caller has run it already (prepared);
    `latest_rows(kinds)`: the rows of `latest_query(qs, kinds, trend_window_start(now))`, run by
    the caller (prepared), for the kinds the days and `kinds` name.
    """
    today = local_day(now)
    window_start = trend_window_start(now)
    days = _days(days_query(qs, window_start) if day_rows is None else day_rows)
    others = [str(k) for k in Kind] if kinds is None else kinds
    latest, planned = _latest(qs, probed_kinds(days, others), window_start, latest_rows)
    recent_from = today - dt.timedelta(days=RECENT_DAYS - 1)
    summaries = []
    for kind_name, newest in latest.items():
        groups = days.get(kind_name, [])
        source = planned.get(kind_name, newest)
        parts = tuple(_part_summary(p, newest, source.range_for(p), groups, today) for p in parts_of(kind_name))
        summaries.append(
            KindSummary(
                kind=kind_name,
                latest=newest,
                count=sum(d.count for d in groups) or 1,
                first=min((d.first for d in groups), default=newest.effective),
                recent_count=sum(d.count for d in groups if d.day >= recent_from),
                parts=parts,
                alerts=tuple(_alerts(kind_name, newest, parts, groups, today)),
            )
        )
    return Overview(now=now, kinds=tuple(sorted(summaries, key=lambda s: _order(s.kind))))


@dataclass(frozen=True)
class Summary:
    """What a lookup learns before any page is shown: who, which kinds, how many."""

    patient_display: str
    kinds: tuple[str, ...]
    count: int
    period: tuple[dt.datetime, dt.datetime] | None


def summary(qs: QuerySet[Measurement]) -> Summary:
    """Counts per kind, and the name from the newest measurement's subject.display."""
    rows = list(qs.values("kind").annotate(n=Count("id"), first=Min("effective"), last=Max("effective")).order_by())
    if not rows:
        return Summary("", (), 0, None)
    name = qs.order_by("-effective").values_list("patient_display", flat=True).first() or ""
    kinds = tuple(sorted((r["kind"] for r in rows), key=_order))
    period = (min(r["first"] for r in rows), max(r["last"] for r in rows))
    return Summary(name, kinds, sum(r["n"] for r in rows), period)
