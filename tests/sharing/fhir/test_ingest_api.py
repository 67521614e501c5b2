"""POST /fhir/Observation over real HTTP, with tokens from devidp, as VKP would send them."""

import datetime as dt
import json

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from sharing import demo
from sharing.fhir.build import observation
from sharing.measurements.models import Measurement, RawResource

FHIR_JSON = "application/fhir+json"


@pytest.fixture
def api(live_server, helseid, oslo):
    """Base URL and a VKP Oslo token; the test database is shared with the live server."""
    return live_server.url + "/fhir", helseid.system_token("vkp-oslo")


def _post(url, token, body, content_type=FHIR_JSON):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    headers = {"Content-Type": content_type, "Accept": FHIR_JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(f"{url}/Observation", data=data, headers=headers, timeout=10)


def _heart_rate(**kw):
    return observation(
        kind="heart_rate",
        patient="30875928763",
        patient_name="Kari Nordmann",
        effective=timezone.now() - dt.timedelta(hours=1),
        value=72,
        municipality_orgnr=demo.OSLO,
        **kw,
    )


def _blood_pressure():
    return observation(
        kind="blood_pressure",
        patient="30875928763",
        patient_name="Kari Nordmann",
        effective=timezone.now() - dt.timedelta(hours=1),
        systolic=142,
        diastolic=88,
        municipality_orgnr=demo.OSLO,
    )


def test_heart_rate_accepted_with_location(api):
    url, token = api
    response = _post(url, token, _heart_rate())
    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    stored = Measurement.objects.get()
    assert response.headers["Location"].endswith(f"/fhir/Observation/{stored.id}")
    assert (stored.kind, stored.value, stored.unit, stored.source_orgnr) == ("heart_rate", 72, "/min", demo.OSLO)
    assert RawResource.objects.get().resource["valueQuantity"]["value"] == 72


def test_blood_pressure_accepted_with_components(api):
    url, token = api
    response = _post(url, token, _blood_pressure())
    assert response.status_code == 201, response.text
    stored = Measurement.objects.get()
    assert stored.kind == "blood_pressure"
    assert (stored.components["systolic"], stored.components["diastolic"]) == (142, 88)


def test_the_same_measurement_sent_twice_is_stored_once(api):
    url, token = api
    body = _heart_rate(identifier="fixed-id-1")
    first, second = _post(url, token, body), _post(url, token, body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.headers["Location"] == second.headers["Location"]
    assert Measurement.objects.count() == 1


def test_rejected_without_token(api):
    url, _token = api
    response = _post(url, None, _heart_rate())
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert Measurement.objects.count() == 0


def test_rejected_with_a_forged_token(api):
    url, token = api
    claims = jwt.decode(token, options={"verify_signature": False})
    header = jwt.get_unverified_header(token)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": header["kid"]})
    response = _post(url, forged, _heart_rate())
    assert response.status_code == 401
    assert "not valid" in response.json()["issue"][0]["diagnostics"]
    assert Measurement.objects.count() == 0


def test_rejected_when_not_json(api):
    url, token = api
    response = _post(url, token, b"{not json")
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "not valid JSON" in outcome["issue"][0]["diagnostics"]


def test_rejected_when_subject_system_is_not_a_national_id(api):
    url, token = api
    body = _heart_rate()
    body["subject"]["identifier"]["system"] = "http://dips.no/fhir/namingsystem/dips-patientid"
    response = _post(url, token, body)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["severity"] == "error"
    assert "Observation.subject.identifier.system" in issue["expression"][0]
    assert Measurement.objects.count() == 0


def test_rejected_when_unit_is_wrong_for_the_kind(api):
    url, token = api
    body = _heart_rate()
    body["valueQuantity"].update(unit="kg", code="kg")
    response = _post(url, token, body)
    assert response.status_code == 400
    assert "/min" in response.json()["issue"][0]["diagnostics"]


def test_rejected_when_performer_is_another_municipality(api):
    url, token = api
    body = _heart_rate()
    body["performer"][0]["identifier"]["value"] = demo.BAERUM
    response = _post(url, token, body)
    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "forbidden"
    assert Measurement.objects.count() == 0


def test_token_without_write_scope_is_refused(live_server, helseid, oslo):
    token = helseid.system_token("vkp-oslo", scope="")
    response = _post(live_server.url + "/fhir", token, _heart_rate())
    assert response.status_code == 403
    assert Measurement.objects.count() == 0


def test_metadata_is_a_capability_statement(live_server):
    response = requests.get(f"{live_server.url}/fhir/metadata", timeout=10)
    assert response.status_code == 200
    assert response.json()["resourceType"] == "CapabilityStatement"
