"""What the municipality's system said beside the value: its normal ranges, its interpretation
(the traffic light), the patient's note and the device (docs/ingest.md, "Context kept").

VKP leaves these elements unconstrained; the DHO guide uses `referenceRange` for the patient's
thresholds (typed with ObservationInterpretation codes), `interpretation` for the severity, `note`
for a comment on the measurement and `device` for the sensor (domain.md §1.2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from sharing.measurements.units import UnitError, convert

from . import words
from .issues import Report

MAX_NOTE = 1000
MAX_DEVICE = 200
MAX_INTERPRETATION = 32

MEANING = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# referenceRange.type codes that describe the range the value should stay within, best first:
# the patient's own target (treatment, recommended, therapeutic), then a normal range. Other types
# (H, L, HH, LL, A, AA: alarm levels; pre/post, endocrine phases) are not a normal range and are
# not used as one. A range without type is taken as a normal range, after the typed ones.
_RANK = {"treatment": 0, "recommended": 0, "therapeutic": 0, "normal": 1, "N": 1}
_UNTYPED = 2


DROPPED = _("%(refused)s Reference range dropped.")


def _rank(rr: Any) -> int | None:
    """How well one referenceRange describes the patient's own range; None: not usable as one.

    A range with `appliesTo` or `age` is a population's range (women, children, pregnancy...);
    the portal cannot check that the patient belongs to it, so it is not used.
    """
    if rr.low is None and rr.high is None:
        return None
    if rr.appliesTo or rr.age is not None:
        return None
    codes = [c.code for c in (rr.type.coding or []) if c is not None and c.code] if rr.type else []
    if not codes:
        return _UNTYPED
    ranks = [_RANK[c] for c in codes if c in _RANK]
    return min(ranks) if ranks else None


def best_range(ranges: Sequence[Any] | None) -> tuple[int, Any] | None:
    """(index, referenceRange) of the best usable range, the first of equals; None when none is."""
    ranked = [(r, i, rr) for i, rr in enumerate(ranges or ()) if rr is not None and (r := _rank(rr)) is not None]
    if not ranked:
        return None
    _best, index, rr = min(ranked, key=lambda t: (t[0], t[1]))
    return index, rr


def bounds(
    rr: Any, expression: str, *, allowed: tuple[str, ...], canonical: str, default_unit: str, rep: Report
) -> tuple[float | None, float | None] | None:
    """low and high of one referenceRange in the canonical unit; None (with a warning) when a
    bound's unit cannot be converted."""
    found: list[float | None] = []
    for part, q in (("low", rr.low), ("high", rr.high)):
        number = float(q.value) if q is not None and q.value is not None else math.nan
        if not math.isfinite(number):
            found.append(None)
            continue
        if allowed or canonical:
            try:
                number = convert(number, (q.code or q.unit or default_unit).strip(), allowed=allowed,
                                 canonical=canonical, what="the reference range")  # fmt: skip
            except UnitError as exc:
                refused = words.unit_refused(exc, _("the reference range"))
                rep.warn("reference-range-unit", "code-invalid", f"{expression}.{part}", DROPPED, refused=refused)
                return None
        found.append(number)
    return found[0], found[1]


def component_ranges(obs: Any, specs: Mapping[tuple[str, str], Any], rep: Report) -> dict[str, list[float | None]]:
    """Per component (blood pressure: systolic, diastolic), the best usable referenceRange."""
    found: dict[str, list[float | None]] = {}
    for i, comp in enumerate(c for c in obs.component or () if c is not None):
        keys = [(c.system, c.code) for c in (comp.code.coding or [] if comp.code else []) if c is not None]
        spec = next((specs[k] for k in keys if k in specs), None)
        best = best_range(comp.referenceRange) if spec is not None else None
        if spec is None or best is None or spec.key in found:
            continue
        index, rr = best
        expression = f"Observation.component[{i}].referenceRange[{index}]"
        got = bounds(rr, expression, allowed=spec.units, canonical=spec.canonical_unit,
                     default_unit=spec.canonical_unit, rep=rep)  # fmt: skip
        if got is not None:
            found[spec.key] = [got[0], got[1]]
    return found


def interpretation(obs: Any) -> str:
    """The code of the sender's first interpretation (ObservationInterpretation preferred)."""
    codings = [c for cc in obs.interpretation or () if cc is not None for c in cc.coding or () if c and c.code]
    preferred = [c for c in codings if c.system == INTERPRETATION] or codings
    return preferred[0].code[:MAX_INTERPRETATION] if preferred else ""


def note(obs: Any) -> str:
    """The notes' texts, joined; what the patient or nurse wrote about this measurement."""
    texts = [n.text.strip() for n in obs.note or () if n is not None and n.text and n.text.strip()]
    return " / ".join(texts)[:MAX_NOTE]


def device(obs: Any) -> str:
    """The device as the sender named it: its display, else its identifier's value."""
    ref = obs.device
    if ref is None:
        return ""
    name = (ref.display or "").strip() or ((ref.identifier.value or "").strip() if ref.identifier else "")
    return name[:MAX_DEVICE]
