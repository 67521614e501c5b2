"""Plausibility at the door (docs/ingest.md, "Plausibility"): every row of the table, as a single
POST and inside a batch Bundle where the other entries still land."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from devdata import demo
from sharing.fhir.build import observation
from sharing.measurements.models import Measurement

from .ingest_helpers import KARI, Api, api, bundle, entry, heart_rate, statuses

__all__ = ["api"]


def _resource(kind: str, value: float | tuple[float, float], unit: str | None = None) -> dict[str, Any]:
    reading = {"systolic": value[0], "diastolic": value[1]} if isinstance(value, tuple) else {"value": value}
    resource = observation(
        kind=kind,
        patient=KARI,
        patient_name="Kari Nordmann",
        effective=timezone.now() - dt.timedelta(hours=2),
        municipality_orgnr=demo.OSLO,
        performer_fnr=demo.NURSE_FNR,  # per the vital-sign profiles, so the only flag is ours
        **reading,
    )
    if unit is not None:
        resource["valueQuantity"].update(unit=unit, code=unit)
    return resource


ENGLISH = {"Accept-Language": "en"}  # the words below are the English diagnostics (Norwegian is the default)
ERROR_SYSTEM = "https://maaledata.no/fhir/CodeSystem/api-error"


def _code(issue: dict[str, Any]) -> str:
    [coding] = issue["details"]["coding"]
    assert coding["system"] == ERROR_SYSTEM
    return coding["code"]


# (kind, value, unit as sent, the expression the error names or the flag is set on, words in the diagnostics)
IMPOSSIBLE = [
    ("oxygen_saturation", 101, None, "Observation.valueQuantity", "at most 100"),
    ("oxygen_saturation", -1, None, "Observation.valueQuantity", "oxygen saturation"),
    ("body_weight", 0, None, "Observation.valueQuantity", "above 0"),
    ("body_weight", -72.5, None, "Observation.valueQuantity", "body weight"),
    ("body_temperature", 24.9, None, "Observation.valueQuantity", "from 25 up to 45"),
    ("body_temperature", 45.1, None, "Observation.valueQuantity", "from 25 up to 45"),
    ("body_temperature", 98.6, "Cel", "Observation.valueQuantity", "[degF]"),  # Fahrenheit sent as Cel
    ("heart_rate", 0, None, "Observation.valueQuantity", "pulse"),
    ("heart_rate", 400, None, "Observation.valueQuantity", "up to 350"),
    ("respiratory_rate", 0, None, "Observation.valueQuantity", "respiratory rate"),
    ("glucose", 0, None, "Observation.valueQuantity", "blood glucose"),
    ("glucose", 126, None, "Observation.valueQuantity", "mg/dL"),  # mg/dL sent as mmol/L
    ("blood_pressure", (400, 80), None, "Observation.component[0].valueQuantity", "systolic"),
    ("blood_pressure", (120, 0), None, "Observation.component[1].valueQuantity", "diastolic"),
    ("blood_pressure", (80, 120), None, "Observation.component", "swapped"),
]
IMPLAUSIBLE = [
    ("oxygen_saturation", 65, "Observation.valueQuantity"),
    ("heart_rate", 20, "Observation.valueQuantity"),
    ("heart_rate", 230, "Observation.valueQuantity"),
    ("respiratory_rate", 70, "Observation.valueQuantity"),
    ("body_temperature", 31.0, "Observation.valueQuantity"),
    ("body_temperature", 43.0, "Observation.valueQuantity"),
    ("body_weight", 15, "Observation.valueQuantity"),
    ("body_weight", 320, "Observation.valueQuantity"),
    ("glucose", 40, "Observation.valueQuantity"),
    ("blood_pressure", (270, 120), "Observation.component[0].valueQuantity"),
    ("blood_pressure", (95, 25), "Observation.component[1].valueQuantity"),
]


@pytest.mark.parametrize(("kind", "value", "unit", "expression", "words"), IMPOSSIBLE)
def test_an_impossible_value_is_rejected_alone_and_in_a_batch(api: Api, kind, value, unit, expression, words) -> None:
    response = api.post(_resource(kind, value, unit), **ENGLISH)
    assert response.status_code == 400, response.text
    [issue] = [i for i in response.json()["issue"] if i["severity"] == "error"]
    assert (issue["code"], issue["expression"]) == ("value", [expression])
    assert _code(issue) == ("pressure-order" if expression == "Observation.component" else "value-impossible")
    assert words in issue["diagnostics"]
    assert not Measurement.objects.exists()

    answer = api.bundle(bundle(entry(heart_rate(61)), entry(_resource(kind, value, unit)), entry(heart_rate(63))))
    assert statuses(answer) == ["201 Created", "400 Bad Request", "201 Created"]
    assert sorted(Measurement.objects.values_list("value", flat=True)) == [61, 63]


@pytest.mark.parametrize(("kind", "value", "expression"), IMPLAUSIBLE)
def test_an_implausible_value_is_stored_with_a_flag_alone_and_in_a_batch(api: Api, kind, value, expression) -> None:
    response = api.post(_resource(kind, value), Prefer="return=OperationOutcome")
    assert response.status_code == 201, response.text
    [warning] = [i for i in response.json()["issue"] if _code(i) == "implausible-value"]
    assert (warning["severity"], warning["expression"]) == ("warning", [expression])
    stored = Measurement.objects.get()
    assert stored.flags == ["implausible-value"]
    stored.delete()

    answer = api.bundle(bundle(entry(heart_rate(61)), entry(_resource(kind, value))))
    assert statuses(answer) == ["201 Created", "201 Created"]
    outcome = answer.json()["entry"][1]["response"]["outcome"]
    assert [i["expression"] for i in outcome["issue"]] == [[expression]]
    assert Measurement.objects.get(value=value if kind != "blood_pressure" else None).flags == ["implausible-value"]
    assert "implausible-value" not in Measurement.objects.get(value=61).flags


def test_values_at_the_usual_limits_are_stored_without_a_flag(api: Api) -> None:
    for kind, value in [("oxygen_saturation", 100), ("oxygen_saturation", 70), ("body_temperature", 42.0)]:
        assert api.post(_resource(kind, value)).status_code == 201
    assert [m.flags for m in Measurement.objects.all()] == [[], [], []]
