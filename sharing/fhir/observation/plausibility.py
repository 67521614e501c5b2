"""Plausibility at the door: values no living patient can have are rejected, values that are
possible but rare at home are stored with the flag ``implausible-value`` (docs/ingest.md,
"Plausibility"). Values are checked in the kind's canonical unit, after conversion.

The limits are wide on purpose: they catch a wrong unit, a typing error or a broken sensor,
not illness. A clinician must still see a pulse of 30 or a saturation of 75 %.
"""

from __future__ import annotations

from dataclasses import dataclass

from .issues import Report


@dataclass(frozen=True)
class Limits:
    what: str  # in diagnostics: "The oxygen saturation"
    unit: str  # as shown in diagnostics
    low: float  # below this (or at it, when low_open) the value is impossible
    high: float  # above this it is impossible
    usual_low: float  # below this (and possible) it is stored with a flag
    usual_high: float
    low_open: bool = False  # True: the low limit itself is impossible (a weight of 0 kg)
    hint: str = ""  # said when the value is impossible, e.g. a likely unit mistake


# Key: the kind, or the blood-pressure component. One row per line of the table in docs/ingest.md.
LIMITS: dict[str, Limits] = {
    "oxygen_saturation": Limits("oxygen saturation", "%", 0, 100, 70, 100,
                                hint="SpO₂ is a percentage of at most 100."),
    "heart_rate": Limits("pulse", "/min", 0, 350, 25, 220, low_open=True),
    "respiratory_rate": Limits("respiratory rate", "/min", 0, 100, 6, 60, low_open=True),
    "body_temperature": Limits("body temperature", "Cel", 25, 45, 32, 42,
                               hint="If it was measured in Fahrenheit, send the unit [degF]."),
    "body_weight": Limits("body weight", "kg", 0, 700, 20, 300, low_open=True,
                          hint="If it was weighed in grams or pounds, send the unit g or [lb_av]."),
    "glucose": Limits("blood glucose", "mmol/L", 0, 100, 1.5, 35, low_open=True,
                      hint="Blood glucose is sent in mmol/L; mg/dL is about 18 times larger."),
    "systolic": Limits("systolic blood pressure", "mm[Hg]", 0, 350, 60, 260, low_open=True),
    "diastolic": Limits("diastolic blood pressure", "mm[Hg]", 0, 250, 30, 150, low_open=True),
}  # fmt: skip

FLAG = "implausible-value"


def _range_text(limits: Limits) -> str:
    opener = "above" if limits.low_open else "from"
    return f"{opener} {limits.low:g} up to {limits.high:g} {limits.unit}"


def check(key: str, number: float, expression: str, rep: Report) -> None:
    """Reject an impossible value, flag an unusual one; nothing for kinds without limits."""
    limits = LIMITS.get(key)
    if limits is None:
        return
    too_low = number <= limits.low if limits.low_open else number < limits.low
    if too_low or number > limits.high:
        msg = f"The {limits.what} must be {_range_text(limits)}; got {number:g}. {limits.hint}".rstrip()
        rep.error("value", expression, msg)
    elif not limits.usual_low <= number <= limits.usual_high:
        msg = (
            f"The {limits.what} of {number:g} {limits.unit} is outside what is usual at home "
            f"({limits.usual_low:g}–{limits.usual_high:g}); stored, and flagged to the clinician as implausible."
        )
        rep.warn(FLAG, "business-rule", expression, msg)


def check_pair(components: dict[str, float], expression: str, rep: Report) -> None:
    """A diastolic pressure at or above the systolic is impossible (the two were swapped or mistyped)."""
    systolic, diastolic = components.get("systolic"), components.get("diastolic")
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        msg = f"The diastolic pressure ({diastolic:g}) must be below the systolic ({systolic:g}); were they swapped?"
        rep.error("value", expression, msg)
