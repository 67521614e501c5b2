"""POST and PUT /fhir/Observation over real HTTP, with tokens from devidp, as VKP would send them."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from devdata import demo
from sharing.agreements.actions import register_organisation
from sharing.agreements.models import Organisation
from sharing.audit.models import AuditEvent
from sharing.measurements.models import Measurement, MeasurementVersion, RawResource

from .ingest_helpers import FHIR_JSON, KARI, PER, Api, api, blood_pressure, heart_rate

__all__ = ["api"]  # the fixture, imported for this module's tests


def test_heart_rate_accepted_with_location(api: Api) -> None:
    response = api.post(heart_rate())
    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    stored = Measurement.objects.get()
    assert response.headers["Location"].endswith(f"/fhir/Observation/{stored.id}/_history/1")
    assert response.headers["ETag"] == 'W/"1"'
    assert response.json()["id"] == str(stored.id)
    assert response.json()["meta"]["versionId"] == "1"
    assert (stored.kind, stored.value, stored.unit, stored.source_orgnr) == ("heart_rate", 72, "/min", demo.OSLO)
    assert stored.client_id == "vkp-oslo"
    assert RawResource.objects.get().resource["valueQuantity"]["value"] == 72


def test_blood_pressure_accepted_with_components(api: Api) -> None:
    response = api.post(blood_pressure())
    assert response.status_code == 201, response.text
    stored = Measurement.objects.get()
    assert stored.kind == "blood_pressure"
    assert (stored.components["systolic"], stored.components["diastolic"]) == (142, 88)


def test_the_same_measurement_sent_twice_is_stored_once_and_says_so(api: Api) -> None:
    body = heart_rate(identifier="fixed-id-1")
    first = api.post(body)
    second = api.post(body, Prefer="return=OperationOutcome")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.headers["Location"] == second.headers["Location"]
    assert second.json()["issue"][-1]["details"]["coding"][0]["code"] == "already-stored"
    assert second.json()["issue"][-1]["diagnostics"] == "Allerede lagret; ingenting ble endret."
    assert Measurement.objects.count() == 1


def test_warnings_are_stored_as_flags_and_reported_on_request(api: Api) -> None:
    body = heart_rate()
    del body["category"]
    body["status"] = "registered"
    response = api.post(body, Prefer="return=OperationOutcome")
    assert response.status_code == 201, response.text
    codes = {i["severity"] for i in response.json()["issue"]}
    assert codes == {"warning"}
    assert {"status-preliminary", "missing-category"} <= set(Measurement.objects.get().flags)


def test_prefer_return_minimal_has_no_body(api: Api) -> None:
    response = api.post(heart_rate(), Prefer="return=minimal")
    assert response.status_code == 201
    assert response.content == b""
    assert "Location" in response.headers


def test_amended_replaces_the_value_and_keeps_the_earlier_version(api: Api) -> None:
    first = heart_rate(71, identifier="hr-amend")
    assert api.post(first).status_code == 201
    amended = {**first, "status": "amended", "valueQuantity": {**first["valueQuantity"], "value": 77}}
    response = api.post(amended)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == 'W/"2"'
    stored = Measurement.objects.get()
    assert (stored.value, stored.status, stored.version) == (77, "amended", 2)
    earlier = MeasurementVersion.objects.get(measurement=stored)
    assert (earlier.version, earlier.status, earlier.content["value"]) == (1, "final", 71)
    assert earlier.resource["valueQuantity"]["value"] == 71
    assert RawResource.objects.get().resource["valueQuantity"]["value"] == 77
    # The earlier version sent again (a retry arriving late) does not undo the correction.
    assert api.post(first).status_code == 200
    assert Measurement.objects.get().value == 77
    assert MeasurementVersion.objects.count() == 1


def test_corrections_are_audited(api: Api) -> None:
    first = heart_rate(71, identifier="hr-audit")
    api.post(first)
    api.post({**first, "status": "corrected", "valueQuantity": {**first["valueQuantity"], "value": 70}})
    event = AuditEvent.objects.get(event="ingest.corrected")
    assert (event.patient_value, event.client_id, event.org_parent) == (KARI, "vkp-oslo", demo.OSLO)
    assert event.data["measurements"][0]["status"] == "corrected"


def test_entered_in_error_hides_the_measurement_but_keeps_it(api: Api) -> None:
    first = heart_rate(identifier="hr-eie")
    api.post(first)
    response = api.post({**first, "status": "entered-in-error"})
    assert response.status_code == 200
    stored = Measurement.objects.get()
    assert stored.status == "entered-in-error"
    assert not Measurement.objects.visible().exists()
    assert MeasurementVersion.objects.get(measurement=stored).status == "final"


def test_cancelled_hides_the_measurement(api: Api) -> None:
    first = heart_rate(identifier="hr-cancel")
    api.post(first)
    api.post({**first, "status": "cancelled"})
    assert Measurement.objects.count() == 1
    assert not Measurement.objects.visible().exists()


def test_a_correction_cannot_move_a_measurement_to_another_patient(api: Api) -> None:
    api.post(heart_rate(identifier="hr-move"))
    response = api.post(heart_rate(identifier="hr-move", patient=PER, status="corrected"))
    assert response.status_code == 409
    assert response.json()["issue"][0]["code"] == "conflict"
    assert Measurement.objects.get().patient_value == KARI


def test_put_creates_then_updates_by_the_senders_id(api: Api) -> None:
    body = heart_rate(64)
    del body["identifier"]  # identity falls back to the PUT id
    body["id"] = "vkp-hr-0001"
    created = api.put("vkp-hr-0001", body)
    assert created.status_code == 201, created.text
    updated = api.put("vkp-hr-0001", {**body, "valueQuantity": {**body["valueQuantity"], "value": 66}})
    assert updated.status_code == 200, updated.text
    assert created.headers["Location"] == updated.headers["Location"].replace("/_history/2", "/_history/1")
    stored = Measurement.objects.get()
    assert (stored.value, stored.version, stored.dedup_key) == (66, 2, "id:vkp-hr-0001")
    assert api.put("vkp-hr-0001", {**body, "valueQuantity": {**body["valueQuantity"], "value": 66}}).status_code == 200
    assert Measurement.objects.get().version == 2


def test_put_body_without_id_takes_the_urls(api: Api) -> None:
    body = heart_rate()
    del body["identifier"]
    assert api.put("vkp-hr-0002", body).status_code == 201
    assert Measurement.objects.get().dedup_key == "id:vkp-hr-0002"
    assert RawResource.objects.get().resource["id"] == "vkp-hr-0002"


def test_put_with_another_id_in_the_body_is_rejected(api: Api) -> None:
    response = api.put("vkp-hr-0003", {**heart_rate(), "id": "something-else"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Observation.id"]
    assert not Measurement.objects.exists()


def test_conditional_create_with_a_match_stores_nothing(api: Api) -> None:
    body = heart_rate(identifier="hr-cond")
    system, value = body["identifier"][0]["system"], body["identifier"][0]["value"]
    assert api.post(body, **{"If-None-Exist": f"identifier={system}|{value}"}).status_code == 201
    changed = {**body, "valueQuantity": {**body["valueQuantity"], "value": 99}}
    response = api.post(changed, **{"If-None-Exist": f"identifier={system}|{value}"})
    assert response.status_code == 200
    assert Measurement.objects.get().value == 72  # a match means "ignore the post", whatever it says


def test_conditional_create_supports_only_identifier(api: Api) -> None:
    response = api.post(heart_rate(), **{"If-None-Exist": "patient=123"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "not-supported"
    assert api.post(heart_rate(), **{"If-None-Exist": "identifier=urn:x|a%00b"}).status_code == 400
    assert not Measurement.objects.exists()


def test_rejected_without_token(api: Api) -> None:
    response = Api(api.base, "").post(heart_rate())
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert Measurement.objects.count() == 0


def test_rejected_with_a_forged_token(api: Api) -> None:
    claims = jwt.decode(api.token, options={"verify_signature": False})
    header = jwt.get_unverified_header(api.token)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": header["kid"]})
    response = Api(api.base, forged).post(heart_rate())
    assert response.status_code == 401
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "token-invalid"
    assert Measurement.objects.count() == 0


def test_rejected_when_not_json(api: Api) -> None:
    response = api.post(b"{not json")
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "json-invalid"
    assert "ikke gyldig JSON" in outcome["issue"][0]["diagnostics"]  # Norwegian unless Accept-Language says en


def test_deep_nesting_is_a_400_not_a_crash(api: Api) -> None:
    response = api.post(b"[" * 200_000 + b"]" * 200_000)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_bundle_sent_to_observation_is_not_supported(api: Api) -> None:
    response = api.post({"resourceType": "Bundle", "type": "batch", "entry": []})
    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "not-supported"


def test_text_that_cannot_be_stored_is_rejected(api: Api) -> None:
    body = heart_rate()
    body["subject"]["display"] = "Kari\u0000Nordmann"
    response = api.post(body)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Observation.subject.display"]
    raw = json.dumps(heart_rate()).replace('"Kari Nordmann"', '"Kari \\ud800"')
    assert api.post(raw).status_code == 400
    assert not Measurement.objects.exists()


def test_rejected_when_subject_system_is_not_a_national_id(api: Api) -> None:
    body = heart_rate()
    body["subject"]["identifier"]["system"] = "http://dips.no/fhir/namingsystem/dips-patientid"
    response = api.post(body)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["severity"] == "error"
    assert "Observation.subject.identifier.system" in issue["expression"][0]
    assert Measurement.objects.count() == 0


def test_rejected_when_unit_is_wrong_for_the_kind(api: Api) -> None:
    body = heart_rate()
    body["valueQuantity"].update(unit="kg", code="kg")
    response = api.post(body)
    assert response.status_code == 400
    assert "/min" in response.json()["issue"][0]["diagnostics"]


def test_writing_for_another_municipality_is_refused_and_logged(api: Api) -> None:
    body = heart_rate()
    body["performer"][0]["identifier"]["value"] = demo.BAERUM
    response = api.post(body)
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"
    assert Measurement.objects.count() == 0
    event = AuditEvent.objects.get(event="ingest.refused")
    assert (event.outcome, event.client_id, event.org_parent) == ("denied", "vkp-oslo", demo.OSLO)
    assert demo.BAERUM in event.data["reason"]
    assert event.patient_value == KARI
    assert set(event.municipalities.split()) == {demo.OSLO, demo.BAERUM}  # both municipalities' auditors see it


def test_a_client_whose_organisation_is_not_a_municipality_is_refused_and_logged(api: Api) -> None:
    register_organisation(orgnr=demo.OSLO, name="Oslo kommune", kind=Organisation.Kind.OTHER, by=demo.SEEDER)
    response = api.post(heart_rate(), **{"Accept-Language": "en"})
    assert response.status_code == 403
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "sender-not-authorised"
    assert "not authorised to send for any municipality" in response.json()["issue"][0]["diagnostics"]
    assert Measurement.objects.count() == 0
    assert AuditEvent.objects.filter(event="ingest.refused", outcome="denied").count() == 1


def test_token_without_write_scope_is_refused(live_server, helseid, oslo) -> None:  # type: ignore[no-untyped-def]
    token = helseid.system_token("vkp-oslo", scope="")
    response = Api(live_server.url + "/fhir", token).post(heart_rate())
    assert response.status_code == 403
    assert Measurement.objects.count() == 0


def test_body_over_the_limit_gets_413(api: Api, settings) -> None:  # type: ignore[no-untyped-def]
    settings.FHIR_MAX_BODY_BYTES = 2000
    body = heart_rate()
    body["note"] = [{"text": "x" * 3000}]
    response = api.post(body)
    assert response.status_code == 413
    assert response.json()["issue"][0]["code"] == "too-long"
    assert not Measurement.objects.exists()


def test_declared_length_over_the_limit_is_refused_before_reading(api: Api, settings) -> None:  # type: ignore[no-untyped-def]
    """Content-Length says 1 GB and only a few bytes follow: the answer comes without waiting for the rest."""
    settings.FHIR_MAX_BODY_BYTES = 10 * 1024 * 1024
    url = urlsplit(api.base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        request = (
            f"POST /fhir/Observation HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {api.token}\r\n"
            f"Content-Type: {FHIR_JSON}\r\nContent-Length: {1024**3}\r\nConnection: close\r\n\r\n{{}}"
        )
        sock.sendall(request.encode())
        answer = _read_response(sock)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "OperationOutcome" in answer


def _read_response(sock: socket.socket) -> str:
    """Status, headers and a Content-Length body; the dev server may keep the socket open after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    return (head + b"\r\n\r\n" + body).decode(errors="replace")


def test_other_methods_get_405(api: Api) -> None:
    response = requests.delete(f"{api.base}/Observation", headers=api.headers(), timeout=10)
    assert response.status_code == 405
    assert response.json()["issue"][0]["code"] == "not-supported"


def test_metadata_states_what_ingest_supports(live_server) -> None:  # type: ignore[no-untyped-def]
    response = requests.get(f"{live_server.url}/fhir/metadata", timeout=10)
    assert response.status_code == 200
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    rest = statement["rest"][0]
    observation = next(r for r in rest["resource"] if r["type"] == "Observation")
    assert {"create", "update"} <= {i["code"] for i in observation["interaction"]}
    assert (observation["conditionalCreate"], observation["updateCreate"]) == (True, True)
    assert len(observation["supportedProfile"]) == 10
    assert {i["code"] for i in rest["interaction"]} == {"batch", "transaction"}


@pytest.mark.parametrize("path", ["/fhir", "/fhir/"])
def test_the_base_url_takes_bundles_with_and_without_slash(api: Api, path: str) -> None:
    base = api.base.removesuffix("/fhir")
    response = requests.post(
        base + path,
        data=json.dumps({"resourceType": "Bundle", "type": "batch", "entry": []}),
        headers=api.headers(),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "batch-response"
