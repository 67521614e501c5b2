"""POST /fhir with batch and transaction Bundles (pmd-Bundle-Observation / pmd-Bundle-Response)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from devdata import demo
from sharing.audit.models import AuditEvent
from sharing.fhir.bundles import ENTRY_ID_EXTENSION, RESPONSE_PROFILE
from sharing.measurements.models import Measurement, MeasurementVersion, PatientSource, RawResource

from .ingest_helpers import KARI, Api, api, blood_pressure, bundle, entry, heart_rate, statuses

__all__ = ["api"]

VKP = Path(os.environ.get("VKP_DIR", Path(__file__).resolve().parents[3].parent / "shared" / "vkp"))


def _example(name: str) -> Any:
    return json.loads((VKP / "examples" / name).read_text(encoding="utf-8"))


def test_batch_with_good_and_bad_entries_stores_the_good_ones(api: Api) -> None:
    bad_unit = heart_rate()
    bad_unit["valueQuantity"].update(unit="kg", code="kg")
    other_municipality = heart_rate()
    other_municipality["performer"][0]["identifier"]["value"] = demo.BAERUM
    entries = [
        entry(heart_rate(61), full_url="urn:uuid:00000000-0000-4000-8000-000000000001"),
        entry(bad_unit, full_url="urn:uuid:00000000-0000-4000-8000-000000000002"),
        entry(blood_pressure(), full_url="urn:uuid:00000000-0000-4000-8000-000000000003"),
        entry(other_municipality, full_url="urn:uuid:00000000-0000-4000-8000-000000000004"),
        entry(heart_rate(63), full_url="urn:uuid:00000000-0000-4000-8000-000000000005"),
    ]
    response = api.bundle(bundle(*entries))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["type"], answer["meta"]["profile"]) == ("batch-response", [RESPONSE_PROFILE])
    assert statuses(response) == ["201 Created", "400 Bad Request", "201 Created", "403 Forbidden", "201 Created"]
    for sent, got in zip(entries, answer["entry"], strict=True):
        assert got["fullUrl"] == sent["fullUrl"]
        assert got["response"]["extension"] == [{"url": ENTRY_ID_EXTENSION, "valueUri": sent["fullUrl"]}]
    bad = answer["entry"][1]["response"]["outcome"]["issue"][0]
    assert (bad["code"], bad["expression"]) == ("code-invalid", ["Observation.valueQuantity.code"])
    assert answer["entry"][3]["response"]["outcome"]["issue"][0]["code"] == "forbidden"
    assert "outcome" not in answer["entry"][0]["response"] or all(
        i["severity"] != "error" for i in answer["entry"][0]["response"]["outcome"]["issue"]
    )
    stored = Measurement.objects.order_by("received_at")
    assert sorted(m.kind for m in stored) == ["blood_pressure", "heart_rate", "heart_rate"]
    locations = {e["response"]["location"] for e in answer["entry"] if "location" in e["response"]}
    assert locations == {f"Observation/{m.id}/_history/1" for m in stored}
    assert RawResource.objects.count() == 3
    assert PatientSource.objects.filter(patient_value=KARI, source_orgnr=demo.OSLO).count() == 1
    refused = AuditEvent.objects.get(event="ingest.refused")
    assert (refused.data["entries"], refused.data["count"], refused.data["of"]) == ([3], 1, 5)


def test_batch_sent_twice_changes_nothing_the_second_time(api: Api) -> None:
    body = bundle(*(entry(heart_rate(60 + i)) for i in range(5)))
    assert statuses(api.bundle(body)) == ["201 Created"] * 5
    again = api.bundle(body)
    assert statuses(again) == ["200 OK"] * 5
    assert again.json()["entry"][0]["response"]["outcome"]["issue"][-1]["severity"] == "information"
    assert Measurement.objects.count() == 5


def test_the_same_measurement_twice_in_one_batch_is_stored_once(api: Api) -> None:
    hr = heart_rate(identifier="twice")
    response = api.bundle(bundle(entry(hr), entry(copy.deepcopy(hr))))
    assert statuses(response) == ["201 Created", "200 OK"]
    assert Measurement.objects.count() == 1


def test_a_correction_later_in_the_same_batch_becomes_version_2(api: Api) -> None:
    hr = heart_rate(70, identifier="corr-in-batch")
    amended = {**hr, "status": "amended", "valueQuantity": {**hr["valueQuantity"], "value": 75}}
    response = api.bundle(bundle(entry(hr), entry(amended)))
    assert statuses(response) == ["201 Created", "200 OK"]
    assert response.json()["entry"][1]["response"]["etag"] == 'W/"2"'
    stored = Measurement.objects.get()
    assert (stored.value, stored.version, stored.status) == (75, 2, "amended")
    assert RawResource.objects.get().resource["valueQuantity"]["value"] == 75
    assert MeasurementVersion.objects.get().resource["valueQuantity"]["value"] == 70


def test_put_entries_upsert_by_the_senders_id(api: Api) -> None:
    hr = heart_rate(80)
    del hr["identifier"]
    hr["id"] = "pmd-obs-1"
    first = api.bundle(bundle(entry(hr, "PUT", "Observation/pmd-obs-1")))
    changed = {**hr, "valueQuantity": {**hr["valueQuantity"], "value": 82}}
    second = api.bundle(bundle(entry(changed, "PUT", "Observation/pmd-obs-1")))
    assert (statuses(first), statuses(second)) == (["201 Created"], ["200 OK"])
    assert Measurement.objects.get().value == 82


def test_a_put_url_naming_nothing_is_ignored_with_a_warning(api: Api) -> None:
    response = api.bundle(bundle(entry(heart_rate(), "PUT", "test.url")))
    assert statuses(response) == ["201 Created"]
    issues = response.json()["entry"][0]["response"]["outcome"]["issue"]
    assert issues[0]["severity"] == "warning" and "test.url" in issues[0]["diagnostics"]


def test_envelope_problems_fail_only_their_entry(api: Api) -> None:
    hr = heart_rate()
    entries: list[Any] = [
        {"resource": heart_rate(), "request": {"method": "POST", "url": "Observation"}},  # no fullUrl
        entry(hr, full_url="urn:uuid:dup"),
        entry(heart_rate(), full_url="urn:uuid:dup"),
        entry(heart_rate(), "DELETE", "Observation/x"),
        entry(heart_rate(), "POST", "Patient"),
        entry(heart_rate(), "PUT", "Observation"),
        entry(heart_rate(), "POST", "Observation/abc"),
        {"fullUrl": "urn:uuid:no-request", "resource": heart_rate()},
        entry("not an object"),
        "not an entry",
    ]
    response = api.bundle(bundle(*entries))
    assert response.status_code == 200, response.text
    assert statuses(response) == [
        "400 Bad Request",
        "201 Created",
        "400 Bad Request",
        "405 Method Not Allowed",
        "400 Bad Request",
        "400 Bad Request",
        "400 Bad Request",
        "400 Bad Request",
        "400 Bad Request",
        "400 Bad Request",
    ]
    assert "fullUrl" not in response.json()["entry"][0]
    assert Measurement.objects.count() == 1


def test_transaction_stores_everything(api: Api) -> None:
    response = api.bundle(bundle(entry(heart_rate(61)), entry(blood_pressure()), kind="transaction"))
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "transaction-response"
    assert statuses(response) == ["201 Created", "201 Created"]
    assert Measurement.objects.count() == 2


def test_transaction_with_one_bad_entry_stores_nothing(api: Api) -> None:
    bad = heart_rate()
    del bad["subject"]
    response = api.bundle(bundle(entry(heart_rate(61)), entry(bad), entry(heart_rate(62)), kind="transaction"))
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "transaction-failed"
    assert "ingenting ble lagret" in outcome["issue"][0]["diagnostics"]  # Norwegian unless Accept-Language says en
    assert outcome["issue"][1]["expression"] == ["Bundle.entry[1].resource.subject.identifier"]
    assert not Measurement.objects.exists() and not RawResource.objects.exists()


def test_transaction_with_a_conflict_is_rolled_back(api: Api) -> None:
    api.post(heart_rate(identifier="taken"))
    moved = heart_rate(identifier="taken", patient="14904839826")
    response = api.bundle(bundle(entry(heart_rate(66)), entry(moved), kind="transaction"))
    assert response.status_code == 409
    assert Measurement.objects.count() == 1  # only the one stored before


def test_transaction_writing_for_another_municipality_is_refused_and_logged(api: Api) -> None:
    other = heart_rate()
    other["performer"][0]["identifier"]["value"] = demo.BAERUM
    response = api.bundle(bundle(entry(heart_rate()), entry(other), kind="transaction"))
    assert response.status_code == 403
    assert not Measurement.objects.exists()
    assert AuditEvent.objects.filter(event="ingest.refused").count() == 1


def test_too_many_entries_get_413(api: Api, settings) -> None:  # type: ignore[no-untyped-def]
    settings.FHIR_MAX_BUNDLE_ENTRIES = 3
    response = api.bundle(bundle(*(entry(heart_rate(60 + i)) for i in range(4))))
    assert response.status_code == 413
    assert response.json()["issue"][0]["code"] == "too-costly"
    assert not Measurement.objects.exists()


def test_other_bundle_types_are_not_supported(api: Api) -> None:
    """collection is PMD 2.0's (tests/sharing/fhir/test_pmd2.py); these are not for writing."""
    for kind in ("batch-response", "document", "searchset", "history"):
        response = api.bundle(bundle(entry(heart_rate()), kind=kind))
        assert response.status_code == 400
        assert response.json()["issue"][0]["expression"] == ["Bundle.type"]
    assert api.bundle(heart_rate()).status_code == 400  # an Observation is not a Bundle
    assert not Measurement.objects.exists()


def test_the_guides_bundle_example_is_accepted(api: Api) -> None:
    """pmd-Bundle-Request-example: PUT with url "test.url", patient "1000239" labelled FNR."""
    response = api.bundle(_example("pmd-Bundle-Request-example.json"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["entry"][0]["fullUrl"] == "urn:uuid:4d4d9d8b-dc0d-4eb8-b830-ea45eeb54d36"
    assert statuses(response) == ["201 Created"]
    issues = answer["entry"][0]["response"]["outcome"]["issue"]
    assert {i["severity"] for i in issues} == {"warning"}
    stored = Measurement.objects.get()
    assert (stored.kind, stored.value, stored.unit) == ("body_temperature", 37, "Cel")
    assert "upstream-id-invalid" in stored.flags
    assert stored.dedup_key == "identifier:http://dips.no/fhir/namingsystem/externalId|testtempexternalId4"


def test_the_guides_bundle_response_example_is_rejected(api: Api) -> None:
    response = api.bundle(_example("pmd-Bundle-Response-example.json"))
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Bundle.type"]


# Each of the guide's examples in one batch: the answer per example, as docs/ingest.md gives it.
EXPECTED = {
    "vkp-heartrate-create.json": "201",
    "vkp-blood-pressure-profile-create.json": "201",
    # Same identifier, patient, time and value as historical/*-create (sorted first): the same
    # measurement in a newer profile version, so nothing changes.
    "vkp-oxygen-saturation-create.json": "200",
    "vkp-body-temperature-create.json": "200",
    "vkp-body-weight-create.json": "201",
    "vkp-glucose-create.json": "201",
    "vkp-cfs-create.json": "201",
    "vkp-news2-create.json": "201",
    "blood-pressure-create.json": "400 Observation.subject.identifier.system",
    "heart-rate-create.json": "400 Observation.subject.identifier.system",
    "respiratory-rate-create.json": "400 Observation.subject.identifier.system",
    "level-of-consciousness-create.json": "400 Observation.subject.identifier.system",
    "body-height-create.json": "400 Observation.subject.identifier.system",
    "body-mass-index-create.json": "400 Observation.subject.identifier.system",
    "historical/body-weight-create.json": "400 Observation.subject.identifier.system",
    "historical/news2-create.json": "400 Observation.subject.identifier.system",
    "historical/vkp-blood-pressure-create.json": "400 Observation.subject.identifier.system",
    "historical/body-temperature-create.json": "201",
    "historical/oxygen-saturation-create.json": "201",
}


def test_every_example_of_the_guide_through_the_api(api: Api) -> None:
    on_disk = {str(p.relative_to(VKP / "examples")) for p in (VKP / "examples").rglob("*.json")}
    observations = {name for name in on_disk if not name.startswith("pmd-Bundle")}
    assert observations == set(EXPECTED)  # a new example in the guide needs a line here
    names = sorted(EXPECTED)
    response = api.bundle(bundle(*(entry(_example(n), full_url=f"urn:example:{n}") for n in names)))
    assert response.status_code == 200, response.text
    got = {}
    for name, answer in zip(names, response.json()["entry"], strict=True):
        code = answer["response"]["status"][:3]
        errors = [i for i in answer["response"].get("outcome", {}).get("issue", []) if i["severity"] == "error"]
        got[name] = f"{code} {errors[0]['expression'][0]}" if errors else code
    assert got == EXPECTED
    assert Measurement.objects.count() == 8
