"""Chart series for the patient page: one kind over a period, exact readings for the table,
and what the chart draws, aggregated on the server when there are many.

Like overview.py, every function takes a queryset an access decision has already narrowed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Literal

from django.db.models import QuerySet

from sharing.core.kinds import Kind

from . import trends
from .models import Measurement
from .overview import DEFAULT_RANGES, READING_FIELDS, Range, Reading, local_day, local_midnight, parts_of
from .thresholds import consciousness_alert

Resolution = Literal["raw", "day", "week"]
MAX_CHART_POINTS = 400  # more readings than this are drawn as daily (or weekly) min/mean/max


@dataclass(frozen=True)
class Bucket:
    """min/mean/max per part over one day or week (local time) of readings."""

    start: dt.datetime
    count: int
    low: dict[str, float]
    mean: dict[str, float]
    high: dict[str, float]
    amended: bool


@dataclass(frozen=True)
class Series:
    kind: str
    start: dt.datetime | None  # None: everything in scope
    end: dt.datetime
    readings: tuple[Reading, ...]  # oldest first, exact
    resolution: Resolution
    buckets: tuple[Bucket, ...]  # empty when resolution is "raw"

    @property
    def parts(self) -> tuple[str, ...]:
        return parts_of(self.kind)

    @property
    def ranges(self) -> dict[str, Range]:
        """The bands to draw: the newest municipality's range in the period, else the default."""
        planned = [r for r in self.readings[-200:] if r.has_ranges]
        newest = planned[-1] if planned else self.readings[-1] if self.readings else None
        found = {}
        for part in self.parts:
            rng = newest.range_for(part) if newest else DEFAULT_RANGES.get((self.kind, part))
            if rng is not None:
                found[part] = rng
        return found


def _bucket_start(day: dt.date, resolution: Resolution) -> dt.datetime:
    if resolution == "week":
        day -= dt.timedelta(days=day.weekday())
    return local_midnight(day)


def aggregate(readings: Sequence[Reading], parts: Sequence[str], resolution: Resolution) -> tuple[Bucket, ...]:
    by_day: dict[dt.date, list[Reading]] = defaultdict(list)
    for r in readings:
        by_day[local_day(r.effective)].append(r)
    groups: dict[dt.datetime, list[Reading]] = defaultdict(list)
    for day, members in by_day.items():
        groups[_bucket_start(day, resolution)].extend(members)
    buckets = []
    for start, members in sorted(groups.items()):
        values = {p: [r.values[p] for r in members if p in r.values] for p in parts}
        present = {p: v for p, v in values.items() if v}
        buckets.append(
            Bucket(
                start=start,
                count=len(members),
                low={p: min(v) for p, v in present.items()},
                mean={p: fmean(v) for p, v in present.items()},
                high={p: max(v) for p, v in present.items()},
                amended=any(r.amended for r in members),
            )
        )
    return tuple(buckets)


def resolution_for(readings: Sequence[Reading], max_points: int = MAX_CHART_POINTS) -> Resolution:
    if len(readings) <= max_points:
        return "raw"
    days = len({local_day(r.effective) for r in readings})
    return "day" if days <= max_points else "week"


def readings(
    qs: QuerySet[Measurement],
    *,
    kind: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[Reading]:
    """Exact readings, oldest first (by kind first when several kinds): one query."""
    if kind is not None:
        qs = qs.filter(kind=kind)
    if start is not None:
        qs = qs.filter(effective__gte=start)
    if end is not None:
        qs = qs.filter(effective__lt=end)
    return [Reading.from_row(row) for row in qs.order_by("kind", "effective", "id").values_list(*READING_FIELDS)]


def series(
    qs: QuerySet[Measurement],
    *,
    kind: str,
    start: dt.datetime | None,
    end: dt.datetime,
    max_points: int = MAX_CHART_POINTS,
) -> Series:
    """One kind over a period: the exact readings for the table, and what the chart draws."""
    found = readings(qs, kind=kind, start=start, end=end)
    resolution = resolution_for(found, max_points)
    buckets = aggregate(found, parts_of(kind), resolution) if resolution != "raw" else ()
    return Series(kind=kind, start=start, end=end, readings=tuple(found), resolution=resolution, buckets=buckets)


def alerts(found: Series) -> list[trends.Alert]:
    """The trend rules (trends.py) over the period's last days, as the overview applies them."""
    if not found.readings:
        return []
    today = local_day(found.end - dt.timedelta(microseconds=1))
    by_day: dict[str, dict[dt.date, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in found.readings:
        for part, number in r.values.items():
            by_day[part][local_day(r.effective)].append(number)
    means = {part: {day: fmean(v) for day, v in days.items()} for part, days in by_day.items()}
    recent_from = today - dt.timedelta(days=trends.RECENT_DAYS - 1)
    result: list[trends.Alert | None] = []
    for part, rng in found.ranges.items():
        recent = [v for day, values in by_day.get(part, {}).items() if day >= recent_from for v in values]
        result.append(trends.mean_outside(fmean(recent) if recent else None, rng, part))
    latest = found.readings[-1]
    value = latest.values.get("value")
    if found.kind == Kind.BODY_WEIGHT and value is not None:
        lows = {day: min(v) for day, v in by_day["value"].items()}
        result.append(trends.weight_gain(value, local_day(latest.effective), lows))
    if found.kind == Kind.NEWS2 and value is not None:
        result.append(trends.news2_rising(value, local_day(latest.effective), means["value"]))
    if found.kind == Kind.OXYGEN_SATURATION and "value" in means:
        result.append(trends.spo2_falling(today, means["value"]))
    if found.kind == Kind.CONSCIOUSNESS and consciousness_alert(latest.text, latest.text):
        result.append(trends.Alert("acvpu-not-alert"))
    return [a for a in result if a is not None]
