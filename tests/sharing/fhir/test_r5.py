"""R5 Observations (PMD 2.0 speaks R5) beside R4: the version received is kept, and the same
measurement in either version is one measurement."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from sharing.fhir.observation.normalise import RejectedObservation, normalise
from sharing.measurements.models import Measurement, RawResource

from .ingest_helpers import Api, api, blood_pressure, heart_rate

__all__ = ["api"]


def as_r5(resource: dict[str, Any]) -> dict[str, Any]:
    """The same Observation with elements only R5 has (R4's model refuses them)."""
    r5 = copy.deepcopy(resource)
    r5["instantiatesCanonical"] = "http://example.org/fhir/PlanDefinition/dho-daily"
    r5["triggeredBy"] = [{"observation": {"reference": "Observation/earlier"}, "type": "reflex"}]
    return r5


def test_r4_refuses_r5_only_elements_and_r5_parses_them() -> None:
    now = timezone.now()
    r4 = normalise(heart_rate(), now=now)
    r5 = normalise(as_r5(heart_rate()), now=now)
    assert (r4.fhir_version, r5.fhir_version) == ("4.0", "5.0")


@pytest.mark.parametrize("build", [heart_rate, blood_pressure])
def test_r4_and_r5_normalise_to_the_same_measurement(build: Any) -> None:
    resource = build()
    now = timezone.now()
    r4, r5 = normalise(resource, now=now), normalise(as_r5(resource), now=now)
    assert dataclasses.replace(r5, fhir_version="4.0") == r4


def test_a_resource_valid_in_neither_gets_the_r4_errors() -> None:
    bad = as_r5(heart_rate())
    bad["notAnElement"] = 1
    with pytest.raises(RejectedObservation) as caught:
        normalise(bad, now=timezone.now())
    assert any("notAnElement" in issue.expression for issue in caught.value.issues)


def test_r5_then_r4_of_the_same_measurement_is_one_measurement(api: Api) -> None:
    resource = heart_rate(hours_ago=2)
    first = api.post(as_r5(resource))
    assert first.status_code == 201, first.text
    stored = Measurement.objects.get()
    assert stored.fhir_version == "5.0"
    assert RawResource.objects.get(measurement=stored).resource["triggeredBy"][0]["type"] == "reflex"
    again = api.post(resource)  # the R4 form of the same measurement
    assert again.status_code == 200, again.text
    assert Measurement.objects.count() == 1
    assert Measurement.objects.get().version == 1


def test_r4_then_r5_in_a_collection_bundle_is_one_measurement(api: Api) -> None:
    resource = heart_rate(hours_ago=3)
    assert api.post(resource).status_code == 201
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "meta": {
            "tag": [
                {
                    "system": "https://register.geonorge.no/sosi-kodelister/inndelinger/inndelingsbase/kommunenummer",
                    "code": "0301",
                }
            ]
        },
        "entry": [{"fullUrl": "urn:uuid:7e1b6a52-5d1c-4f7c-9d60-3c1f9e0e0001", "resource": as_r5(resource)}],
    }
    answer = api.bundle(bundle)
    assert [e["response"]["status"] for e in answer.json()["entry"]] == ["200 OK"], answer.text
    assert Measurement.objects.count() == 1
    assert Measurement.objects.get().effective < timezone.now() - dt.timedelta(hours=2)
