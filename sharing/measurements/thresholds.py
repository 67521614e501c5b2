"""Which range a patient's value is judged against, and where it came from.

The municipality's range from the patient's own observations (its follow-up plan, sent as
`referenceRange`; chosen at ingest by `context.best_range`) comes first; otherwise the defaults
below, from published guidance (docs/clinician.md, "Thresholds"). Values on a limit are inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sharing.core.kinds import Kind

State = Literal["low", "high"]
Source = Literal["municipality", "default"]


@dataclass(frozen=True)
class Range:
    """A normal range, either bound optional, with its source and (SpO₂) its NEWS2 scale."""

    low: float | None
    high: float | None
    source: Source = "default"
    scale: int | None = None  # SpO₂: the NEWS2 scale the range belongs to

    def state(self, value: float | None) -> State | None:
        if value is None:
            return None
        if self.low is not None and value < self.low:
            return "low"
        if self.high is not None and value > self.high:
            return "high"
        return None


# Adult defaults (docs/clinician.md cites each).
DEFAULT_RANGES: dict[tuple[str, str], Range] = {
    # Home blood pressure: 135/85 is the home-measurement threshold (ESC/ESH 2023); below 90 systolic is hypotension.
    (Kind.BLOOD_PRESSURE, "systolic"): Range(90, 135),
    (Kind.BLOOD_PRESSURE, "diastolic"): Range(50, 85),
    (Kind.HEART_RATE, "value"): Range(50, 100),  # resting adult heart rate
    (Kind.OXYGEN_SATURATION, "value"): Range(96, None, scale=1),  # NEWS2 scale 1 scores 0 from 96 %
    (Kind.RESPIRATORY_RATE, "value"): Range(12, 20),  # NEWS2 scores 0 for 12–20
    (Kind.BODY_TEMPERATURE, "value"): Range(36.0, 38.0),  # NEWS2 scores 0 from 36.1 to 38.0
    (Kind.GLUCOSE, "value"): Range(4.0, 10.0),
    (Kind.NEWS2, "value"): Range(None, 4),
    (Kind.CFS, "value"): Range(None, 4),
}
# NEWS2 scale 2 (hypercapnic respiratory failure, e.g. COPD): 88–92 % scores 0 on air.
SPO2_SCALE2 = Range(88, 92, scale=2)
SCALE2_TOP = 92.0  # a municipality's SpO₂ target reaching no higher than this is a scale-2 target

# ACVPU: only Alert scores 0 in NEWS2; new confusion, voice, pain or unresponsive score 3.
ALERT_CODES = frozenset({"A", "a", "alert", "248234008", "5"})  # 5: "Våken" in the DIPS-era example


def own_range(kind: str, low: float | None, high: float | None) -> Range | None:
    """The municipality's range for one part, None when it sent none."""
    if low is None and high is None:
        return None
    scale = None
    if kind == Kind.OXYGEN_SATURATION:
        scale = 2 if (high is not None and high <= SCALE2_TOP) or (low is not None and low <= SPO2_SCALE2.low) else 1  # type: ignore[operator]
    return Range(low, high, "municipality", scale)


def range_for(kind: str, part: str, own: Range | None) -> Range | None:
    """The municipality's range when there is one, else the default (None: no meaningful range)."""
    return own if own is not None else DEFAULT_RANGES.get((kind, part))


def consciousness_alert(code: str, text: str) -> bool:
    """Whether an ACVPU reading is anything but Alert (NEWS2 scores it 3)."""
    if not code and not text:
        return False
    return code not in ALERT_CODES and text.strip().lower() not in {"alert", "våken", "a"}
