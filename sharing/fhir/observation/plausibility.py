"""Plausibility at the door: values no living patient can have are rejected, values that are
possible but rare at home are stored with the flag ``implausible-value`` (docs/ingest.md,
"Plausibility"). Values are checked in the kind's canonical unit, after conversion.

The limits are wide on purpose: they catch a wrong unit, a typing error or a broken sensor,
not illness. A clinician must still see a pulse of 30 or a saturation of 75 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from .issues import Report


@dataclass(frozen=True)
class Limits:
    what: Any  # in diagnostics (a gettext text): "The oxygen saturation"
    unit: str  # as shown in diagnostics
    low: float  # below this (or at it, when low_open) the value is impossible
    high: float  # above this it is impossible
    usual_low: float  # below this (and possible) it is stored with a flag
    usual_high: float
    low_open: bool = False  # True: the low limit itself is impossible (a weight of 0 kg)
    hint: Any = ""  # said when the value is impossible, e.g. a likely unit mistake (a gettext text)


# Key: the kind, or the blood-pressure component. One row per line of the table in docs/ingest.md.
LIMITS: dict[str, Limits] = {
    "oxygen_saturation": Limits(_("oxygen saturation"), "%", 0, 100, 70, 100,
                                hint=_("SpO₂ is a percentage of at most 100.")),
    "heart_rate": Limits(_("pulse"), "/min", 0, 350, 25, 220, low_open=True),
    "respiratory_rate": Limits(_("respiratory rate"), "/min", 0, 100, 6, 60, low_open=True),
    "body_temperature": Limits(_("body temperature"), "Cel", 25, 45, 32, 42,
                               hint=_("If it was measured in Fahrenheit, send the unit [degF].")),
    "body_weight": Limits(_("body weight"), "kg", 0, 700, 20, 300, low_open=True,
                          hint=_("If it was weighed in grams or pounds, send the unit g or [lb_av].")),
    "glucose": Limits(_("blood glucose"), "mmol/L", 0, 100, 1.5, 35, low_open=True,
                      hint=_("Blood glucose is sent in mmol/L; mg/dL is about 18 times larger.")),
    "systolic": Limits(_("systolic blood pressure"), "mm[Hg]", 0, 350, 60, 260, low_open=True),
    "diastolic": Limits(_("diastolic blood pressure"), "mm[Hg]", 0, 250, 30, 150, low_open=True),
}  # fmt: skip

FLAG = "implausible-value"


# (low_open, with a hint): what an impossible value is told
IMPOSSIBLE = {
    (True, False): _("The %(what)s must be above %(low)s up to %(high)s %(unit)s; got %(got)s."),
    (False, False): _("The %(what)s must be from %(low)s up to %(high)s %(unit)s; got %(got)s."),
    (True, True): _("The %(what)s must be above %(low)s up to %(high)s %(unit)s; got %(got)s. %(hint)s"),
    (False, True): _("The %(what)s must be from %(low)s up to %(high)s %(unit)s; got %(got)s. %(hint)s"),
}
UNUSUAL = _(
    "The %(what)s of %(got)s %(unit)s is outside what is usual at home (%(low)s–%(high)s); "
    "stored, and flagged to the clinician as implausible."
)


def check(key: str, number: float, expression: str, rep: Report) -> None:
    """Reject an impossible value, flag an unusual one; nothing for kinds without limits."""
    limits = LIMITS.get(key)
    if limits is None:
        return
    too_low = number <= limits.low if limits.low_open else number < limits.low
    if too_low or number > limits.high:
        msg = IMPOSSIBLE[limits.low_open, bool(limits.hint)]
        rep.error("value", expression, "value-impossible", msg, what=limits.what, low=f"{limits.low:g}",
                  high=f"{limits.high:g}", unit=limits.unit, got=f"{number:g}", hint=limits.hint)  # fmt: skip
    elif not limits.usual_low <= number <= limits.usual_high:
        rep.warn(FLAG, "business-rule", expression, UNUSUAL, what=limits.what, got=f"{number:g}", unit=limits.unit,
                 low=f"{limits.usual_low:g}", high=f"{limits.usual_high:g}")  # fmt: skip


def check_pair(components: dict[str, float], expression: str, rep: Report) -> None:
    """A diastolic pressure at or above the systolic is impossible (the two were swapped or mistyped)."""
    systolic, diastolic = components.get("systolic"), components.get("diastolic")
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        msg = _("The diastolic pressure (%(diastolic)s) must be below the systolic (%(systolic)s); were they swapped?")
        rep.error("value", expression, "pressure-order", msg, diastolic=f"{diastolic:g}", systolic=f"{systolic:g}")
