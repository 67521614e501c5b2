"""Chart series for the patient page: one kind over a period, aggregated in the database.

The database answers per local day (Europe/Oslo): count, first and last time, and per part the
sum, lowest, highest and how many readings lay below and above their range (the municipality's
range on each reading, else the default: the same rule as ``Reading.state``). The chart draws
each reading when there are few (at most MAX_CHART_POINTS), else each day's (or week's) lowest,
mean and highest value, with every day that holds a reading outside its range marked at its
extreme: averaging never hides an out-of-range value. The table is one page of exact readings
(TABLE_PAGE_SIZE, newest first); the CSV file has them all.

Like overview.py, every function takes a queryset an access decision has already narrowed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone

from sharing.core.kinds import Kind

from . import trends
from .models import Measurement
from .overview import (
    AMENDED_STATUSES,
    DEFAULT_RANGES,
    READING_FIELDS,
    Range,
    Reading,
    local_day,
    local_midnight,
    parts_of,
)
from .thresholds import consciousness_alert

Resolution = Literal["raw", "day", "week"]
MAX_CHART_POINTS = 400  # more readings than this are drawn as daily (or weekly) min/mean/max
TABLE_PAGE_SIZE = 100  # rows per page of the table


# PartDay, Day and Bucket are named tuples, immutable like the frozen dataclasses they were: a
# year's chart makes 366 of each on every view, and a tuple is made in a third of the time.
class PartDay(NamedTuple):
    """One part's numbers on one day: how many, their sum, lowest and highest, and how many lay
    below and above their range."""

    n: int
    total: float
    low: float
    high: float
    below: int = 0
    above: int = 0


class Day(NamedTuple):
    day: dt.date  # local (Europe/Oslo)
    readings: int  # how many (named so: a tuple's count is a method)
    amended: bool
    parts: dict[str, PartDay]
    ranged: bool = False  # a reading that day carries the municipality's ranges (or a reference range)


class Bucket(NamedTuple):
    """min/mean/max per part over one day or week (local time) of readings, and how many of them
    lay below / above their range."""

    start: dt.datetime
    readings: int  # how many
    low: dict[str, float]
    mean: dict[str, float]
    high: dict[str, float]
    amended: bool
    below: dict[str, int]
    above: dict[str, int]


@dataclass(frozen=True)
class Days:
    """A period's days, oldest first, and the time of its first and of its last reading."""

    days: list[Day]
    first: dt.datetime | None
    last: dt.datetime | None


@dataclass(frozen=True)
class Series:
    kind: str
    start: dt.datetime | None  # None: everything in scope
    end: dt.datetime
    days: tuple[Day, ...]  # oldest first
    first: dt.datetime | None  # the time of the period's first reading
    last: dt.datetime | None  # and of its last
    latest: Reading | None  # the newest reading of the period
    planned: Reading | None  # the newest that carries the municipality's ranges
    resolution: Resolution
    points: tuple[Reading, ...]  # every reading, oldest first, when resolution is "raw"; else empty
    buckets: tuple[Bucket, ...]  # empty when resolution is "raw"
    rows: tuple[Reading, ...]  # the table's page, newest first, exact
    page: int = 1
    page_size: int = TABLE_PAGE_SIZE

    @property
    def parts(self) -> tuple[str, ...]:
        return parts_of(self.kind)

    @property
    def count(self) -> int:
        return sum(d.readings for d in self.days)

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.page_size))

    def extremes(self, part: str) -> tuple[float, float] | None:
        """The period's lowest and highest value of a part."""
        found = [d.parts[part] for d in self.days if part in d.parts]
        return (min(p.low for p in found), max(p.high for p in found)) if found else None

    @property
    def ranges(self) -> dict[str, Range]:
        """The bands to draw: the newest municipality's range in the period, else the default."""
        newest = self.planned or self.latest
        found = {}
        for part in self.parts:
            rng = newest.range_for(part) if newest else DEFAULT_RANGES.get((self.kind, part))
            if rng is not None:
                found[part] = rng
        return found


def _value_sql(part: str) -> str:
    if part == "value":
        return "value"
    return f"CASE WHEN jsonb_typeof(components->'{part}') = 'number' THEN (components->>'{part}')::float8 END"


def _bound_sql(part: str, index: int) -> str:
    """The part's lower (index 0) or upper (1) bound on each row: the municipality's range on the
    reading, else the default (a parameter) — as ``Reading.range_for``."""
    r = f"ranges->'{part}'"
    # Most readings carry no ranges ('{}'): that one comparison spares them the four JSON lookups
    # (2.47 -> 2.29 ms on the server for a year of one kind, four readings a day).
    own = (
        f"(ranges <> '{{}}'::jsonb AND CASE WHEN jsonb_typeof({r}) <> 'array' THEN false "
        f"WHEN jsonb_array_length({r}) <> 2 THEN false "
        f"ELSE jsonb_typeof({r}->0) = 'number' OR jsonb_typeof({r}->1) = 'number' END)"
    )
    own_bound = f"CASE WHEN jsonb_typeof({r}->{index}) = 'number' THEN ({r}->>{index})::float8 END"
    column = "reference_low" if index == 0 else "reference_high"
    reference = (
        f" WHEN reference_low IS NOT NULL OR reference_high IS NOT NULL THEN {column}" if part == "value" else ""
    )
    return f"CASE WHEN {own} THEN {own_bound}{reference} ELSE %s::float8 END"


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def daily(qs: QuerySet[Measurement], kind: str) -> Days:
    """Per local day, the readings' count and per-part aggregates, and the period's first and last
    reading's time (one query)."""
    if connections[qs.db].vendor != "postgresql":
        return _daily_in_python(qs, kind)
    parts = parts_of(kind)
    # In no order: the days are grouped by hash and sorted once, 366 of them, not 1,500 rows twice.
    inner = (
        qs.order_by()
        .values("effective", "status", "version", "value", "components", "reference_low", "reference_high", "ranges")
        .query.sql_with_params()
    )
    inner_sql, inner_params = inner
    columns, params, aggregates = [], [], []
    for i, part in enumerate(parts):
        default = DEFAULT_RANGES.get((kind, part))
        columns.append(f"{_value_sql(part)} AS v{i}")
        columns.append(f"{_bound_sql(part, 0)} AS lo{i}")
        columns.append(f"{_bound_sql(part, 1)} AS hi{i}")
        params += [default.low if default else None, default.high if default else None]
        aggregates.append(
            f"count(v{i}), sum(v{i}), min(v{i}), max(v{i}), "
            f"count(*) FILTER (WHERE v{i} < lo{i}), count(*) FILTER (WHERE v{i} > hi{i})"
        )
    amended = ", ".join(f"'{s}'" for s in sorted(AMENDED_STATUSES))
    sql = (
        # Each day's first and last time as microseconds since 1970, exact: only the period's first
        # and last are used, and a year's 732 timestamps written as text and parsed back into
        # datetimes took longer than the rest of the day's numbers (5.0-6.1 against 3.5-4.1 ms).
        "SELECT (effective AT TIME ZONE %s)::date AS day, count(*), "  # noqa: S608 - parts and statuses are the module's own
        "(extract(epoch FROM min(effective)) * 1000000)::int8, (extract(epoch FROM max(effective)) * 1000000)::int8, "
        f"bool_or(status IN ({amended}) OR version > 1), "
        "bool_or(ranges <> '{}'::jsonb OR reference_low IS NOT NULL OR reference_high IS NOT NULL), "
        f"{', '.join(aggregates)} "
        f"FROM (SELECT effective, status, version, ranges, reference_low, reference_high, {', '.join(columns)} "
        f"FROM ({inner_sql}) AS m) AS x "
        "GROUP BY 1 ORDER BY 1"
    )
    zone = timezone.get_default_timezone_name()
    with connections[qs.db].cursor() as cursor:
        cursor.execute(sql, [zone, *params, *inner_params])
        rows = cursor.fetchall()
    found = []
    starts = [(part, 6 + 6 * i) for i, part in enumerate(parts)]  # where each part's six numbers begin
    for row in rows:
        numbers: dict[str, PartDay] = {}
        for part, at in starts:
            if n := row[at]:
                numbers[part] = PartDay(
                    n, float(row[at + 1]), float(row[at + 2]), float(row[at + 3]), row[at + 4], row[at + 5]
                )
        found.append(Day(row[0], row[1], bool(row[4]), numbers, bool(row[5])))
    if not rows:
        return Days(found, None, None)
    first, last = rows[0][2], rows[-1][3]
    return Days(found, _EPOCH + dt.timedelta(microseconds=first), _EPOCH + dt.timedelta(microseconds=last))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _bounds(row: dict[str, Any], part: str, default: Range | None) -> tuple[float | None, float | None]:
    """As `_bound_sql`: the municipality's range on the reading, else the reference columns (the
    value only), else the default."""
    own = (row["ranges"] or {}).get(part)
    if isinstance(own, list) and len(own) == 2 and (_number(own[0]) is not None or _number(own[1]) is not None):
        return _number(own[0]), _number(own[1])
    if part == "value" and (row["reference_low"] is not None or row["reference_high"] is not None):
        return row["reference_low"], row["reference_high"]
    return (default.low, default.high) if default else (None, None)


def _daily_in_python(qs: QuerySet[Measurement], kind: str) -> Days:
    """The same days as `daily`'s SQL, from the rows: SQLite (`make run`'s zero-setup default) has
    no jsonb functions, FILTER or time zones. A year of one kind is about 1,500 rows."""
    parts = parts_of(kind)
    defaults = {part: DEFAULT_RANGES.get((kind, part)) for part in parts}
    fields = ("effective", "status", "version", "value", "components", "reference_low", "reference_high", "ranges")
    by_day: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for row in qs.order_by().values(*fields):
        by_day[timezone.localtime(row["effective"]).date()].append(row)
    found, first, last = [], None, None
    for day, rows in sorted(by_day.items()):
        numbers: dict[str, PartDay] = {}
        for part in parts:
            values, below, above = [], 0, 0
            for row in rows:
                value = _number(row["value"]) if part == "value" else _number((row["components"] or {}).get(part))
                if value is None:
                    continue
                low, high = _bounds(row, part, defaults[part])
                values.append(value)
                below += low is not None and value < low
                above += high is not None and value > high
            if values:
                numbers[part] = PartDay(len(values), sum(values), min(values), max(values), below, above)
        amended = any(row["status"] in AMENDED_STATUSES or row["version"] > 1 for row in rows)
        ranged = any(
            row["ranges"] != {} or row["reference_low"] is not None or row["reference_high"] is not None for row in rows
        )
        effective = [row["effective"] for row in rows]
        first, last = first or min(effective), max(effective)
        found.append(Day(day, len(rows), amended, numbers, ranged))
    return Days(found, first, last)


def _bucket_start(day: dt.date, resolution: Resolution) -> dt.datetime:
    if resolution == "week":
        day -= dt.timedelta(days=day.weekday())
    return local_midnight(day)


def aggregate(days: Sequence[Day], parts: Sequence[str], resolution: Resolution) -> tuple[Bucket, ...]:
    """Days as they are ("day"), or rolled up into weeks starting Monday ("week")."""
    if resolution == "day":
        return tuple(_day_bucket(d, parts) for d in days)
    groups: dict[dt.datetime, list[Day]] = defaultdict(list)
    for d in days:
        groups[_bucket_start(d.day, resolution)].append(d)
    buckets = []
    for start, members in sorted(groups.items()):
        low, mean, high, below, above = {}, {}, {}, {}, {}
        for p in parts:
            found = [d.parts[p] for d in members if p in d.parts]
            if not found:
                continue
            low[p] = min(f.low for f in found)
            high[p] = max(f.high for f in found)
            mean[p] = sum(f.total for f in found) / sum(f.n for f in found)
            below[p] = sum(f.below for f in found)
            above[p] = sum(f.above for f in found)
        buckets.append(
            Bucket(
                start=start,
                readings=sum(d.readings for d in members),
                low=low,
                mean=mean,
                high=high,
                amended=any(d.amended for d in members),
                below=below,
                above=above,
            )
        )
    return tuple(buckets)


def _day_bucket(d: Day, parts: Sequence[str]) -> Bucket:
    """One day as its own bucket: what `aggregate` makes of a group of one, without the grouping
    (one pass over the parts: a year's chart makes 366 of these on every view)."""
    low: dict[str, float] = {}
    mean: dict[str, float] = {}
    high: dict[str, float] = {}
    below: dict[str, int] = {}
    above: dict[str, int] = {}
    for p in parts:
        f = d.parts.get(p)
        if f is not None:
            low[p], mean[p], high[p], below[p], above[p] = f.low, f.total / f.n, f.high, f.below, f.above
    return Bucket(local_midnight(d.day), d.readings, low, mean, high, d.amended, below, above)


def resolution_for(count: int, days: int, max_points: int = MAX_CHART_POINTS) -> Resolution:
    if count <= max_points:
        return "raw"
    return "day" if days <= max_points else "week"


def readings(
    qs: QuerySet[Measurement],
    *,
    kind: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[Reading]:
    """Exact readings, oldest first (by kind first when several kinds): one query."""
    return [Reading.from_row(row) for row in _period(qs, kind, start, end).values_list(*READING_FIELDS)]


def _period(
    qs: QuerySet[Measurement], kind: str | None, start: dt.datetime | None, end: dt.datetime | None
) -> QuerySet[Measurement]:
    if kind is not None:
        qs = qs.filter(kind=kind)
    if start is not None:
        qs = qs.filter(effective__gte=start)
    if end is not None:
        qs = qs.filter(effective__lt=end)
    return qs.order_by("kind", "effective", "id")


def _newest(qs: QuerySet[Measurement]) -> tuple[Reading | None, Reading | None]:
    """The newest reading, and the newest carrying the municipality's ranges (one query, by index)."""
    ranged = qs.exclude(ranges={}, reference_low__isnull=True, reference_high__isnull=True)
    newest = qs.order_by("-effective", "-id").values("id")[:1]
    newest_ranged = ranged.order_by("-effective", "-id").values("id")[:1]
    rows = qs.filter(id__in=newest.union(newest_ranged, all=True)).order_by("-effective", "-id")
    found = [Reading.from_row(row) for row in rows.values_list(*READING_FIELDS)]
    latest = found[0] if found else None
    planned = next((r for r in found if r.has_ranges), None)
    return latest, planned


def series(
    qs: QuerySet[Measurement],
    *,
    kind: str,
    start: dt.datetime | None,
    end: dt.datetime,
    page: int = 1,
    max_points: int = MAX_CHART_POINTS,
    page_size: int = TABLE_PAGE_SIZE,
) -> Series:
    """One kind over a period: daily aggregates, what the chart draws, and one page of the table.

    Two queries when the period holds at most ``max_points`` readings (the aggregates, then every
    reading), else two or three: the aggregates, the table's page and, unless the first page
    already holds them, the newest reading and the newest carrying the municipality's ranges.
    ``page`` beyond the last shows the last.
    """
    period = _period(qs, kind, start, end)
    found_days = daily(period, kind)
    days = found_days.days
    count = sum(d.readings for d in days)
    pages = max(1, -(-count // page_size))
    page = min(max(1, page), pages)
    resolution = resolution_for(count, len(days), max_points)
    if resolution == "raw":
        points = tuple(readings(qs, kind=kind, start=start, end=end))
        newest_first = points[::-1]
        rows = newest_first[(page - 1) * page_size : page * page_size]
        latest = newest_first[0] if newest_first else None
        planned = next((r for r in newest_first if r.has_ranges), None)
        buckets: tuple[Bucket, ...] = ()
    else:
        points = ()
        found = period.order_by("-effective", "-id")[(page - 1) * page_size : page * page_size]
        rows = tuple(Reading.from_row(row) for row in found.values_list(*READING_FIELDS))
        # The first page starts with the newest reading, and holds the newest with ranges too when
        # there is one that recent; the days say whether there is one at all.
        latest, planned = (
            (rows[0], next((r for r in rows if r.has_ranges), None)) if page == 1 and rows else (None, None)
        )
        if latest is None or (planned is None and any(d.ranged for d in days)):
            latest, planned = _newest(period)
        buckets = aggregate(days, parts_of(kind), resolution)
    return Series(
        kind=kind,
        start=start,
        end=end,
        days=tuple(days),
        first=found_days.first,
        last=found_days.last,
        latest=latest,
        planned=planned,
        resolution=resolution,
        points=points,
        buckets=buckets,
        rows=rows,
        page=page,
        page_size=page_size,
    )


def alerts(found: Series) -> list[trends.Alert]:
    """The trend rules (trends.py) over the period's last days, as the overview applies them."""
    latest = found.latest
    if latest is None:
        return []
    today = local_day(found.end - dt.timedelta(microseconds=1))
    recent_from = today - dt.timedelta(days=trends.RECENT_DAYS - 1)
    means = {
        part: {d.day: d.parts[part].total / d.parts[part].n for d in found.days if part in d.parts}
        for part in found.parts
    }
    result: list[trends.Alert | None] = []
    for part, rng in found.ranges.items():
        recent = [d.parts[part] for d in found.days if d.day >= recent_from and part in d.parts]
        mean = sum(p.total for p in recent) / sum(p.n for p in recent) if recent else None
        result.append(trends.mean_outside(mean, rng, part))
    value = latest.values.get("value")
    if found.kind == Kind.BODY_WEIGHT and value is not None:
        lows = {d.day: d.parts["value"].low for d in found.days if "value" in d.parts}
        result.append(trends.weight_gain(value, local_day(latest.effective), lows))
    if found.kind == Kind.NEWS2 and value is not None:
        result.append(trends.news2_rising(value, local_day(latest.effective), means["value"]))
    if found.kind == Kind.OXYGEN_SATURATION and means.get("value"):
        result.append(trends.spo2_falling(today, means["value"]))
    if found.kind == Kind.CONSCIOUSNESS and consciousness_alert(latest.text, latest.text):
        result.append(trends.Alert("acvpu-not-alert"))
    return [a for a in result if a is not None]
