"""The search parameters clients send (issue 19), over real HTTP with fhirpy, and what the
CapabilityStatement and the OpenAPI description say about them."""

import pytest
import requests
from fhirpy import SyncFHIRClient

from portal.login.devclient import DpopAuth, DpopKey, epj_user_token
from sharing.fhir import capability, search
from sharing.fhir.openapi import document
from sharing.identifiers import SYSTEM_FNR

pytestmark = pytest.mark.django_db(transaction=True)
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


@pytest.fixture
def reader(live_server, helseid, patient_data):
    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    client = SyncFHIRClient(f"{live_server.url}/fhir", requests_config={"auth": DpopAuth(token, key)})

    def get(params, path="Observation", patient="patient.identifier", **headers):
        return requests.get(
            f"{live_server.url}/fhir/{path}",
            params={patient: f"{SYSTEM_FNR}|{patient_data}", **params},
            headers=headers,
            auth=DpopAuth(token, key),
            timeout=10,
        )

    return client, get


def _ids(response):
    assert response.status_code == 200, response.text
    return [e["resource"]["id"] for e in response.json().get("entry", [])]


def test_id_and_fhirpy_get(reader, patient_data):
    client, get = reader
    observations = client.resources("Observation").search(**{"patient.identifier": patient_data})
    first, second = observations.limit(2).fetch()
    assert observations.search(_id=first["id"]).get()["id"] == first["id"]
    assert set(_ids(get({"_id": f"{first['id']},{second['id']}"}))) == {first["id"], second["id"]}
    assert _ids(get({"_id": "not-a-uuid"})) == []


def test_total_summary_elements_and_format(reader):
    _client, get = reader
    for total in ("none", "estimate", "accurate"):
        assert get({"_total": total, "_count": "1"}).json()["total"] > 300
    assert get({"_total": "sometimes"}).status_code == 400
    [summary] = get({"_summary": "true", "_count": "1"}).json()["entry"]
    assert "note" not in summary["resource"] and "device" not in summary["resource"]
    assert {"id", "meta", "status", "code", "subject"} <= set(summary["resource"])
    assert {"code": "SUBSETTED"}.items() <= summary["resource"]["meta"]["tag"][-1].items()
    [elements] = get({"_elements": "status,value[x]", "_count": "1"}).json()["entry"]
    assert set(elements["resource"]) <= {"resourceType", "id", "meta", "status", "valueQuantity", "valueInteger"}
    assert "status" in elements["resource"]
    assert get({"_summary": "data", "_count": "1"}).status_code == 200
    assert get({"_format": "application/fhir+json", "_count": "1"}).status_code == 200
    assert get({"_format": "xml"}).status_code == 400


def test_tokens_with_system_and_the_chained_patient(reader):
    _client, get = reader
    vital = get({"category": f"{CATEGORY}|vital-signs", "_summary": "count"}).json()["total"]
    assert vital == get({"category": "vital-signs", "_summary": "count"}).json()["total"] > 300
    assert get({"category": "http://example.org|vital-signs"}).status_code == 400
    hr = get({"code": "http://loinc.org|8867-4", "_summary": "count"}).json()["total"]
    assert hr == get({"code": "|8867-4", "_summary": "count"}).json()["total"] > 100
    for chained in ("subject:Patient.identifier", "subject.identifier"):
        assert get({"_summary": "count"}, patient=chained).json()["total"] > 300
    # The pre-R4 date comparators (fhirclient) mean what the R4 prefixes mean.
    old = get({"date": ">=2026-01-01", "_summary": "count"}).json()["total"]
    assert old == get({"date": "ge2026-01-01", "_summary": "count"}).json()["total"]


def test_unknown_parameters_strict_unless_lenient(reader):
    _client, get = reader
    strict = get({"colour": "blue"})
    assert strict.status_code == 400 and "handling=lenient" in strict.json()["issue"][0]["diagnostics"]
    lenient = get({"colour": "blue", "_count": "1"}, Prefer="handling=lenient")
    assert lenient.status_code == 200
    assert "colour" not in lenient.json()["link"][0]["url"]


def test_plain_json_is_answered_as_fhir_json(reader):
    _client, get = reader
    response = get({"_count": "1"}, Accept="application/json")
    assert response.headers["Content-Type"].startswith("application/fhir+json")


def test_capability_and_openapi_list_exactly_what_the_search_accepts():
    """Each parameter both documents, with the OpenAPI example, is accepted by the search code."""
    described = {
        p["name"]: p for p in document()["paths"]["/fhir/Observation"]["get"]["parameters"] if p["in"] == "query"
    }
    assert {p["name"] for p in capability.OBSERVATION_SEARCH_PARAMS} | {search.CURSOR} == set(described)
    for name, parameter in described.items():
        if name == search.CURSOR or name.startswith(("patient", "subject")):
            continue
        schema = parameter["schema"]
        example = (schema.get("examples") or [None])[0] or (schema.get("enum") or [None])[0]
        if example is None and schema.get("type") == "integer":
            example = "1"
        values = example if isinstance(example, list) else [str(example)]
        search.parse_query({"patient.identifier": ["30875928763"], name: values})
