"""What ingest's diagnostics call a measurement and its parts, in the sender's language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from sharing.fhir.wording import Said
from sharing.measurements.units import UnitError

# By profile name (profiles.PROFILES).
MEASUREMENTS: dict[str, Any] = {
    "heart_rate": _("heart rate"),
    "blood_pressure": _("blood pressure"),
    "oxygen_saturation": _("oxygen saturation"),
    "body_temperature": _("body temperature"),
    "body_weight": _("body weight"),
    "respiratory_rate": _("respiratory rate"),
    "glucose": _("glucose"),
    "questionnaire_score": _("questionnaire score"),
    "consciousness": _("level of consciousness"),
    "news2": "NEWS2",
    "cfs": "CFS",
}

# By component key (profiles.ComponentSpec.key): blood pressure's parts and NEWS2's sub-scores.
COMPONENTS: dict[str, Any] = {
    "systolic": _("systolic pressure"),
    "diastolic": _("diastolic pressure"),
    "mean_arterial": _("mean arterial pressure"),
    "pulse_pressure": _("pulse pressure"),
    "resp_rate": _("respiration rate"),
    "spo2_scale2": _("SpO₂ scale 2"),
    "air_or_oxygen": _("air or oxygen"),
    "pulse": _("pulse"),
    "systolic_bp": _("systolic blood pressure"),
    "consciousness": _("consciousness"),
    "temperature": _("temperature"),
}


def measurement(name: str) -> Any:
    return MEASUREMENTS.get(name, name.replace("_", " "))


def component(key: str) -> Any:
    return COMPONENTS.get(key, key.replace("_", " "))


def the_component(key: str) -> Said:
    """A part of a message (no code of its own): "the systolic pressure component"."""
    return Said("", _("the %(component)s component"), component=component(key))


UNIT_REFUSED = _("Unit %(unit)r is not accepted for %(what)s; accepted UCUM unit codes (case-insensitive): %(units)s.")
UNIT_ON_A_SCORE = _("Unit %(unit)r is not accepted for %(what)s: it is a dimensionless score, sent without a unit.")


def unit_refused(exc: UnitError, what: Any) -> Said:
    """A unit the kind does not take (``units.UnitError``), naming the units it does."""
    if exc.allowed:
        return Said("unit-invalid", UNIT_REFUSED, unit=exc.unit, what=what, units=", ".join(exc.allowed))
    return Said("unit-invalid", UNIT_ON_A_SCORE, unit=exc.unit, what=what)
