"""Units of measure: one canonical UCUM unit per kind, and the few conversions VKP needs.

Incoming UCUM codes are matched case-insensitively (``mmol/l``, ``MMOL/L`` and
``KG`` are accepted and stored in the canonical spelling). Converted values are
rounded to ``CONVERTED_DECIMALS`` decimals; values already in the canonical unit
are kept exactly as sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable

from sharing.core.kinds import Kind

UCUM = "http://unitsofmeasure.org"

# One canonical unit per kind ("" = dimensionless score or coded value).
CANONICAL_UNIT: dict[Kind, str] = {
    Kind.HEART_RATE: "/min",
    Kind.RESPIRATORY_RATE: "/min",
    Kind.BLOOD_PRESSURE: "mm[Hg]",
    Kind.OXYGEN_SATURATION: "%",
    Kind.BODY_TEMPERATURE: "Cel",
    Kind.BODY_WEIGHT: "kg",
    Kind.GLUCOSE: "mmol/L",
    Kind.CONSCIOUSNESS: "",
    Kind.NEWS2: "",
    Kind.CFS: "",
    Kind.QUESTIONNAIRE_SCORE: "",
}

CONVERTED_DECIMALS = 4

# (from, to) -> function. Only what the guide's value sets allow.
CONVERSIONS: dict[tuple[str, str], Callable[[float], float]] = {
    ("g", "kg"): lambda v: v / 1000.0,
    ("[lb_av]", "kg"): lambda v: v * 0.45359237,
    ("[degF]", "Cel"): lambda v: (v - 32.0) / 9.0 * 5.0,
}

# Every UCUM spelling we know, by its lower-case form, so matching is case-insensitive.
KNOWN_UNITS = ("/min", "mm[Hg]", "%", "Cel", "[degF]", "kg", "g", "[lb_av]", "mmol/L")
_BY_LOWER: dict[str, str] = {u.lower(): u for u in KNOWN_UNITS}

# Dimensionless spellings accepted on scores: UCUM unity, any UCUM annotation such as
# {score} or {ScoreOf}, and the bare word "score" seen in older VKP examples.
_DIMENSIONLESS = re.compile(r"^(1|\{[^{}]*\}|score)?$", re.IGNORECASE)


class UnitError(ValueError):
    """The unit is unknown or not allowed for the kind; the message names the allowed units."""

    def __init__(self, unit: str, allowed: Iterable[str], what: str) -> None:
        self.unit = unit
        self.allowed = tuple(allowed)
        shown = ", ".join(self.allowed) if self.allowed else "no unit (a dimensionless score)"
        super().__init__(
            f"Unit {unit!r} is not accepted for {what}; accepted UCUM unit codes (case-insensitive): {shown}."
        )


def canonical_spelling(code: str) -> str | None:
    """The canonical spelling of a known UCUM code, matched case-insensitively."""
    return _BY_LOWER.get(code.strip().lower())


def is_dimensionless(code: str) -> bool:
    return bool(_DIMENSIONLESS.match(code.strip()))


def convert(value: float, code: str, *, allowed: tuple[str, ...], canonical: str, what: str) -> float:
    """Return ``value`` (sent in ``code``) expressed in ``canonical``.

    ``allowed`` lists the unit codes accepted for the kind (canonical spelling);
    an empty ``canonical`` means a dimensionless score. Raises ``UnitError``.
    """
    if not canonical:
        if is_dimensionless(code):
            return value
        raise UnitError(code, (), what)
    spelled = canonical_spelling(code)
    if spelled is None or spelled not in allowed:
        raise UnitError(code, allowed, what)
    if spelled == canonical:
        return value
    converted = CONVERSIONS[(spelled, canonical)](value)
    if not math.isfinite(converted):  # pragma: no cover - finite inputs stay finite
        raise ValueError(f"conversion of {value!r} {code} overflowed")
    return round(converted, CONVERTED_DECIMALS)


def check_table(allowed: tuple[str, ...], canonical: str) -> None:
    """Fail at import time if a profile lists a unit we cannot convert to its canonical unit."""
    for unit in allowed:
        if unit not in KNOWN_UNITS:
            raise RuntimeError(f"unit {unit!r} is not in units.KNOWN_UNITS")
        if unit != canonical and (unit, canonical) not in CONVERSIONS:
            raise RuntimeError(f"no conversion from {unit!r} to {canonical!r}")
    if canonical and canonical not in allowed:
        raise RuntimeError(f"canonical unit {canonical!r} must be among the allowed units")
