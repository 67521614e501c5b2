"""The value of an Observation: value[x], components and reference range, in canonical units.

Each function reads one part of a parsed (fhir.resources) Observation, checks it against the
profile table, records problems in the ``Report`` and returns the part in stored form.
"""

from __future__ import annotations

import math
from typing import Any

from django.utils.translation import gettext_lazy as _
from fhir.resources.R4B.observation import Observation

from sharing.core.kinds import Kind
from sharing.measurements.units import UCUM, UnitError, convert

from . import plausibility, words
from .context import best_range, bounds
from .issues import Report
from .profiles import Profile, ValueType

# Column sizes of sharing.measurements.models.Measurement.
MAX_CODE, MAX_CODE_SYSTEM, MAX_PATIENT_VALUE, MAX_UNIT, MAX_DISPLAY = 64, 100, 32, 32, 200
VALUE_KEYS = (
    "valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean", "valueInteger", "valueRange",
    "valueRatio", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod",
)  # fmt: skip


def items(values: list[Any] | None) -> list[Any]:
    """List elements, without the nulls pydantic lets through."""
    return [v for v in values or () if v is not None]


def extract_value(
    obs: Observation, profile: Profile | None, has_value: bool, rep: Report
) -> tuple[float | None, str, str, str, str]:
    """(value, unit, value_code, value_display, data_absent_reason) in the kind's canonical unit."""
    name = next((k for k in VALUE_KEYS if getattr(obs, k) is not None), None)
    absent = obs.dataAbsentReason
    if has_value and absent is not None:
        msg = _("dataAbsentReason must be empty when a value is sent (obs-6).")
        rep.error("business-rule", "Observation.dataAbsentReason", "value-and-absent-reason", msg)
    if profile is not None and profile.value_type is ValueType.COMPONENTS:
        if name:
            msg = _("Blood pressure has no value[x] (0..0); values come from the components, value[x] was ignored.")
            rep.warn("value-ignored", "structure", f"Observation.{name}", msg)
        return None, profile.components[0].canonical_unit, "", "", ""
    if name is None:
        if absent is not None:
            reason = next((c.code for c in items(absent.coding) if c.code), absent.text or "")[:MAX_CODE]
            msg = _("No value was sent; dataAbsentReason %(reason)s is stored instead.")
            rep.warn("data-absent", "required", "Observation.dataAbsentReason", msg, reason=reason or _("(no code)"))
            return None, profile.canonical_unit if profile else "", "", "", reason
        rule = " (vs-2/vs-3)" if profile is not None and profile.vital_sign else ""
        msg = _("A value or a dataAbsentReason is required%(rule)s.")
        rep.error("required", "Observation.value[x]", "value-required", msg, rule=rule)
        return None, "", "", "", ""
    expr = f"Observation.{name}"
    sent: Any = getattr(obs, name)
    if profile is None or profile.value_type is ValueType.CODEABLE:
        if name == "valueCodeableConcept":
            cc = sent
            coding = next((c for c in items(cc.coding) if c.code), None)
            code, display = (coding.code, coding.display or cc.text or "") if coding else ("", cc.text or "")
            if not code and not display:
                msg = _("valueCodeableConcept needs a coding with a code, or a text.")
                rep.error("required", expr, "value-code-required", msg)
            elif len(code) > MAX_CODE:
                msg = _("The value code may be at most %(max)s characters.")
                rep.error("too-long", expr, "value-code-too-long", msg, max=MAX_CODE)
            return None, "", code, display[:MAX_DISPLAY], ""
        if profile is not None:
            msg = _("The %(what)s needs valueCodeableConcept, not %(sent)s.")
            rep.error("value", expr, "value-type", msg, what=words.measurement(profile.name), sent=name)
            return None, "", "", "", ""
        if name == "valueString":
            if len(sent) > MAX_DISPLAY:
                msg = _("valueString was cut to %(max)s characters.")
                rep.warn("value-truncated", "too-long", expr, msg, max=MAX_DISPLAY)
            return None, "", "", sent[:MAX_DISPLAY], ""
        if name == "valueBoolean":
            return None, "", "true" if sent else "false", "", ""
        if name not in ("valueQuantity", "valueInteger"):
            msg = _(
                "%(sent)s is not supported; send valueQuantity, valueInteger, valueCodeableConcept, "
                "valueString or valueBoolean."
            )
            rep.error("not-supported", expr, "value-type-not-supported", msg, sent=name)
            return None, "", "", "", ""
    number, sent_unit = _number(obs, name, expr, profile, rep)
    if number is None or profile is None:
        if len(sent_unit) > MAX_UNIT:
            msg = _("The unit may be at most %(max)s characters.")
            rep.error("too-long", f"{expr}.code", "unit-too-long", msg, max=MAX_UNIT)
        return number, sent_unit, "", "", ""
    label = words.measurement(profile.name)
    try:
        number = convert(number, sent_unit, allowed=profile.units, canonical=profile.canonical_unit, what=profile.name)
    except UnitError as exc:
        rep.error("code-invalid", f"{expr}.code", words.unit_refused(exc, label))
        return None, "", "", "", ""
    if profile.value_type is ValueType.INTEGER and not number.is_integer():
        msg = _("The %(what)s must be a whole number; got %(got)s.")
        rep.error("value", expr, "value-not-whole", msg, what=label, got=f"{number:g}")
    if profile.value_range and not profile.value_range[0] <= number <= profile.value_range[1]:
        low, high = profile.value_range
        msg = _("The %(what)s must be between %(low)s and %(high)s; got %(got)s.")
        rep.error("value", expr, "value-out-of-range", msg, what=label, low=low, high=high, got=f"{number:g}")
    plausibility.check(profile.kind.value, number, expr, rep)
    return number, profile.canonical_unit, "", "", ""


def _number(obs: Any, name: str, expr: str, profile: Profile | None, rep: Report) -> tuple[float | None, str]:
    """(finite number, unit code as sent) from valueQuantity, or valueInteger on unit-less kinds."""
    if name == "valueInteger" and (profile is None or not profile.canonical_unit):
        return float(obs.valueInteger), ""
    if name != "valueQuantity":
        what = words.measurement(profile.name) if profile else "value[x]"
        if profile is not None and not profile.canonical_unit:
            msg = _("The %(what)s needs valueQuantity or valueInteger, not %(sent)s.")
        else:
            msg = _("The %(what)s needs valueQuantity, not %(sent)s.")
        rep.error("value", expr, "value-type", msg, what=what, sent=name)
        return None, ""
    q = obs.valueQuantity
    number = float(q.value) if q.value is not None else math.nan
    if not math.isfinite(number):
        msg = _("valueQuantity.value must be a finite number.")
        rep.error("required" if q.value is None else "value", f"{expr}.value", "value-not-finite", msg)
        return None, ""
    unit = (q.code or q.unit or "").strip()
    if q.comparator:
        msg = _("The value has comparator %(comparator)r; stored without it.")
        rep.warn("value-comparator", "value", f"{expr}.comparator", msg, comparator=q.comparator)
    if profile is not None and profile.canonical_unit and (not q.code or q.system != UCUM or not q.unit):
        msg = _("The quantity should carry value, unit, system http://unitsofmeasure.org and code.")
        rep.warn("quantity-incomplete", "required", expr, msg)
    if not unit and profile is not None and profile.canonical_unit:
        msg = _("A unit is required; accepted UCUM codes: %(units)s.")
        rep.error("required", f"{expr}.code", "unit-required", msg, units=", ".join(profile.units))
        return None, ""
    return number, unit


def extract_components(
    obs: Observation, profile: Profile | None, has_value: bool, value: float | None, rep: Report
) -> dict[str, float]:
    own = {(c.system, c.code) for c in items(obs.code.coding if obs.code else None)}
    specs = profile.component_by_code if profile is not None else {}
    found: dict[str, float] = {}
    seen: set[str] = set()
    for i, comp in enumerate(items(obs.component)):
        expr = f"Observation.component[{i}]"
        keys = [(c.system, c.code) for c in items(comp.code.coding if comp.code else None) if c.system and c.code]
        if has_value and any(k in own for k in keys):
            msg = _("A component must not repeat Observation.code when a value is sent (obs-7).")
            rep.error("business-rule", f"{expr}.code", "component-repeats-code", msg)
        spec = next((specs[k] for k in keys if k in specs), None)
        if spec is None:
            flag = "unknown-component" if specs else "components-ignored"
            msg = _("This component is not defined for this measurement; it was ignored (the raw resource keeps it).")
            rep.warn(flag, "not-supported", f"{expr}.code", msg)
            continue
        if spec.key in seen:
            msg = _("More than one %(component)s component.")
            rep.error("value", expr, "component-repeated", msg, component=words.component(spec.key))
            continue
        seen.add(spec.key)
        q = comp.valueQuantity
        if q is not None and q.value is not None and math.isfinite(float(q.value)):
            try:
                number = convert(float(q.value), (q.code or q.unit or "").strip(), allowed=spec.units,
                                 canonical=spec.canonical_unit, what=spec.key)  # fmt: skip
            except UnitError as exc:
                rep.error(
                    "code-invalid", f"{expr}.valueQuantity.code", words.unit_refused(exc, words.the_component(spec.key))
                )
                continue
        elif comp.valueInteger is not None and not spec.canonical_unit:
            number = float(comp.valueInteger)
        else:
            if spec.required:
                msg = _("The %(component)s component needs a finite valueQuantity.")
                rep.error(
                    "required", f"{expr}.value[x]", "component-value-required", msg, component=words.component(spec.key)
                )
            else:
                msg = _("The optional %(component)s component has no value; it was ignored.")
                rep.warn("component-no-value", "required", expr, msg, component=words.component(spec.key))
            continue
        if spec.value_range and (not number.is_integer() or not spec.value_range[0] <= number <= spec.value_range[1]):
            msg = _("The %(component)s score must be a whole number from %(low)s to %(high)s.")
            low, high = spec.value_range
            rep.error("value", expr, "score-out-of-range", msg, component=words.component(spec.key), low=low, high=high)
            continue
        found[spec.key] = number
        plausibility.check(spec.key, number, f"{expr}.valueQuantity", rep)
    for spec in profile.components if profile is not None else ():
        if spec.required and spec.key not in seen:
            codes = " / ".join(f"{c.code}" for c in spec.codes)
            msg = _("A %(component)s component (%(codes)s) in %(unit)s is required.")
            rep.error("required", "Observation.component", "component-required", msg,
                      component=words.component(spec.key), codes=codes, unit=spec.canonical_unit)  # fmt: skip
    if profile is not None and profile.kind is Kind.BLOOD_PRESSURE:
        plausibility.check_pair(found, "Observation.component", rep)
    if (
        profile is not None
        and profile.kind is Kind.NEWS2
        and value is not None
        and len(found) == len(profile.components)
    ):
        if sum(found.values()) != value:
            msg = _("The NEWS2 sub-scores do not add up to the total.")
            rep.warn("news2-sum-mismatch", "business-rule", "Observation.component", msg)
    return found


def extract_reference(obs: Observation, profile: Profile | None, rep: Report) -> tuple[float | None, float | None]:
    """low/high of the best usable referenceRange (context.best_range: the patient's own target or a
    normal range, never a population's or an alarm level), in the kind's canonical unit."""
    best = best_range(obs.referenceRange)
    if best is None:
        return None, None
    index, rr = best
    sent = obs.valueQuantity
    default_unit = ((sent.code or sent.unit or "") if sent else "") or (profile.canonical_unit if profile else "")
    quantity = profile is not None and profile.value_type is not ValueType.COMPONENTS
    allowed, canonical = (profile.units, profile.canonical_unit) if quantity and profile else ((), "")
    expression = f"Observation.referenceRange[{index}]"
    got = bounds(rr, expression, allowed=allowed, canonical=canonical, default_unit=default_unit, rep=rep)
    return got if got is not None else (None, None)
