"""Trend rules clinicians act on, computed on the server from daily values (docs/clinician.md,
"Trends", names the source of each rule).

Each rule takes plain numbers (daily means or lows by local day) so the overview (daily
aggregates from the database) and the chart page (readings of a period) use the same rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import fmean

from .thresholds import Range

WEIGHT_GAIN_KG = 2.0  # heart failure: this much gained ...
WEIGHT_GAIN_DAYS = 3  # ... within this many days (ESC 2021 heart-failure guideline, self-care advice)
NEWS2_RISE = 2.0  # a NEWS2 this much above the mean of the week before (RCP 2017: a rising score escalates)
SPO2_FALL = 3.0  # SpO₂ this many percentage points below the week before (BTS 2017: a fall of 3 % prompts review)
RECENT_DAYS = 7


@dataclass(frozen=True)
class Alert:
    code: str  # "weight-gain", "mean-high", "mean-low", "news2-rising", "spo2-falling", ...
    amount: float | None = None  # the change or the mean that triggered it
    part: str = "value"


def weight_gain(latest: float, latest_day: dt.date, daily_lows: Mapping[dt.date, float]) -> Alert | None:
    """The latest weight is ≥ 2 kg above the lowest on its day or the 3 days before."""
    since = latest_day - dt.timedelta(days=WEIGHT_GAIN_DAYS)
    lows = [v for day, v in daily_lows.items() if since <= day <= latest_day]
    if lows and latest - min(lows) >= WEIGHT_GAIN_KG:
        return Alert("weight-gain", round(latest - min(lows), 1))
    return None


def mean_outside(mean: float | None, rng: Range | None, part: str = "value") -> Alert | None:
    """The mean of the last 7 days is outside the range (a single reading can be noise; a week is not)."""
    if mean is None or rng is None:
        return None
    state = rng.state(mean)
    return Alert(f"mean-{state}", mean, part) if state else None


def _before(daily: Mapping[dt.date, float], day: dt.date, days: int) -> list[float]:
    start = day - dt.timedelta(days=days)
    return [v for d, v in daily.items() if start <= d < day]


def news2_rising(latest: float, latest_day: dt.date, daily_means: Mapping[dt.date, float]) -> Alert | None:
    """The latest NEWS2 is ≥ 2 above the mean of the 7 days before its day."""
    before = _before(daily_means, latest_day, RECENT_DAYS)
    if before and latest - fmean(before) >= NEWS2_RISE:
        return Alert("news2-rising", round(latest - fmean(before), 1))
    return None


def spo2_falling(today: dt.date, daily_means: Mapping[dt.date, float]) -> Alert | None:
    """The mean of the last 3 days is ≥ 3 percentage points below the mean of the 7 days before them."""
    recent_from = today - dt.timedelta(days=2)
    recent = [v for d, v in daily_means.items() if recent_from <= d <= today]
    before = _before(daily_means, recent_from, RECENT_DAYS)
    if recent and before and fmean(before) - fmean(recent) >= SPO2_FALL:
        return Alert("spo2-falling", round(fmean(before) - fmean(recent), 1))
    return None
