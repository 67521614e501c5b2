"""The FHIR read API as an integrator meets it: fhirpy against a live server, DPoP-bound tokens."""

import datetime as dt

import pytest
import requests
from django.utils import timezone
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import AuthorizationError, ForbiddenError, OperationOutcome, ResourceNotFound

from portal.login.devclient import DpopAuth, DpopKey, epj_user_token
from sharing.audit.models import AuditEvent
from sharing.identifiers import SYSTEM_FNR

pytestmark = pytest.mark.django_db(transaction=True)
HR = "http://loinc.org|8867-4"


@pytest.fixture
def ingrid(live_server, helseid, patient_data, dpop_key):
    """Lovisenberg's EPJ acting for Ingrid Berg (agreement with Oslo)."""
    token = epj_user_token(helseid, "ingrid-berg", dpop_key)
    client = SyncFHIRClient(f"{live_server.url}/fhir", requests_config={"auth": DpopAuth(token, dpop_key)})
    return client, token


def _total(search):
    """fhirpy's count() adds Aidbox's _totalMethod, which this server reports as unknown."""
    return search.search(_summary="count").fetch_raw()["total"]


def _patient(pid):
    return {"patient.identifier": f"{SYSTEM_FNR}|{pid}"}


def test_search_one_patient_one_code(ingrid, patient_data):
    client, _token = ingrid
    found = client.resources("Observation").search(**_patient(patient_data), code=HR).limit(1000).fetch()
    assert len(found) > 100
    assert {o["code"]["coding"][0]["code"] for o in found} == {"8867-4"}
    event = AuditEvent.objects.filter(event="api.search").get()
    assert (event.outcome, event.patient_value, event.actor_name) == ("granted", patient_data, "Ingrid Berg")
    assert event.data["count"] == len(found)


def test_search_by_snomed_code_finds_the_same_kind(ingrid, patient_data):
    client, _token = ingrid
    loinc = client.resources("Observation").search(**_patient(patient_data), code=HR).limit(1000).fetch()
    snomed = (
        client.resources("Observation")
        .search(**_patient(patient_data), code="http://snomed.info/sct|364075005")
        .limit(1000)
        .fetch()
    )
    assert {o["id"] for o in loinc} == {o["id"] for o in snomed}


def test_code_with_comma_is_or(ingrid, patient_data):
    client, _token = ingrid
    both = (
        client.resources("Observation")
        .search(**_patient(patient_data), code=f"{HR},http://loinc.org|29463-7")
        .limit(1000)
        .fetch_all()
    )
    kinds = {o["code"]["coding"][0]["code"] for o in both}
    assert kinds == {"8867-4", "29463-7"}


def test_date_bounds_and_sort(ingrid, patient_data):
    client, _token = ingrid
    since = (timezone.localdate() - dt.timedelta(days=10)).isoformat()
    until = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    found = (
        client.resources("Observation")
        .search(**_patient(patient_data), code=HR)
        .search(date=f"ge{since}")
        .search(date=f"le{until}")
        .sort("date")
        .limit(100)
        .fetch()
    )
    times = [o["effectiveDateTime"] for o in found]
    assert times == sorted(times)
    assert all(since <= t[:10] <= until for t in times)
    assert 3 <= len(found) <= 8


def test_category_and_status(ingrid, patient_data):
    client, _token = ingrid
    observations = client.resources("Observation")
    vital = _total(observations.search(**_patient(patient_data), category="vital-signs"))
    final = _total(observations.search(**_patient(patient_data), status="final"))
    prelim = _total(observations.search(**_patient(patient_data), status="preliminary"))
    assert vital == final > 300
    assert prelim == 0


def test_paging_to_the_end_returns_everything_once(ingrid, patient_data):
    client, _token = ingrid
    everything = client.resources("Observation").search(**_patient(patient_data)).limit(37).fetch_all()
    total = _total(client.resources("Observation").search(**_patient(patient_data)))
    assert len(everything) == total > 300
    assert len({o["id"] for o in everything}) == total


def test_summary_count_and_post_search(live_server, ingrid, patient_data, dpop_key):
    _client, token = ingrid
    url = f"{live_server.url}/fhir/Observation/_search"
    auth = DpopAuth(token, dpop_key)
    response = requests.post(
        url, data={**_patient(patient_data), "code": HR, "_summary": "count"}, auth=auth, timeout=10
    )
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert (bundle["type"], bundle.get("entry", [])) == ("searchset", [])
    assert bundle["total"] > 100


def test_unknown_parameter_is_reported(live_server, ingrid, patient_data, dpop_key):
    _client, token = ingrid
    response = requests.get(
        f"{live_server.url}/fhir/Observation",
        params={**_patient(patient_data), "colour": "blue"},
        auth=DpopAuth(token, dpop_key),
        timeout=10,
    )
    assert response.status_code == 400
    assert "colour" in response.json()["issue"][0]["diagnostics"]


def _first_page(live_server, token, dpop_key, pid, **extra):
    response = requests.get(
        f"{live_server.url}/fhir/Observation",
        params={**_patient(pid), "_count": "5", **extra},
        auth=DpopAuth(token, dpop_key),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_cursor_tampering_is_refused(live_server, ingrid, patient_data, dpop_key):
    _client, token = ingrid
    bundle = _first_page(live_server, token, dpop_key, patient_data)
    next_url = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    tampered = next_url.replace("_cursor=", "_cursor=x")
    response = requests.get(tampered, auth=DpopAuth(token, dpop_key), timeout=10)
    assert response.status_code == 400
    # The cursor cannot be carried over to another search (here: dropping the page size).
    widened = next_url.replace("_count=5", "_count=1000")
    response = requests.get(widened, auth=DpopAuth(token, dpop_key), timeout=10)
    assert response.status_code == 400
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "cursor-other-search"


def test_read_returns_the_resource_as_received(ingrid, patient_data):
    client, _token = ingrid
    [first] = client.resources("Observation").search(**_patient(patient_data), code=HR).limit(1).fetch()
    again = client.reference("Observation", first["id"]).to_resource()
    assert again["id"] == first["id"]
    assert again["valueQuantity"] == first["valueQuantity"]
    assert AuditEvent.objects.filter(event="api.read", outcome="granted").count() == 1


def test_read_of_a_missing_resource_is_404(ingrid):
    client, _token = ingrid
    with pytest.raises(ResourceNotFound):
        client.reference("Observation", "00000000-0000-4000-8000-000000000000").to_resource()


def test_lastn_gives_the_latest_per_code(ingrid, patient_data):
    client, _token = ingrid
    response = client.execute("Observation/$lastn", method="get", params={**_patient(patient_data), "max": "2"})
    entries = [e["resource"] for e in response["entry"]]
    codes = [o["code"]["coding"][0]["code"] for o in entries]
    assert sorted(set(codes)) == sorted({"8867-4", "29463-7", "85354-9", "2708-6"})
    assert all(codes.count(c) == 2 for c in set(codes))
    all_hr = client.resources("Observation").search(**_patient(patient_data), code=HR).sort("-date").limit(2).fetch()
    latest_hr = [o for o in entries if o["code"]["coding"][0]["code"] == "8867-4"]
    assert [o["id"] for o in latest_hr] == [o["id"] for o in all_hr]


def test_denied_without_agreement_is_403_and_logged(live_server, helseid, patient_data, dpop_key):
    # Fjordvik's own EPJ: a single-tenant client, whose organisation HelseID puts in the token.
    token = epj_user_token(helseid, "per-dahl", dpop_key, client_id="epj-fjordvik")
    client = SyncFHIRClient(f"{live_server.url}/fhir", requests_config={"auth": DpopAuth(token, dpop_key)})
    with pytest.raises(ForbiddenError, match="no-agreement"):
        client.resources("Observation").search(**_patient(patient_data)).fetch()
    event = AuditEvent.objects.get(event="api.search")
    assert (event.outcome, event.org_parent, event.actor_name) == ("denied", "314444019", "Per Dahl")


def _get(live_server, token, proof, pid, scheme="DPoP"):
    return requests.get(
        f"{live_server.url}/fhir/Observation",
        params=_patient(pid),
        headers={"Authorization": f"{scheme} {token}", "DPoP": proof},
        timeout=10,
    )


def test_dpop_proof_signed_with_another_key_is_refused(live_server, ingrid, patient_data):
    _client, token = ingrid
    proof = DpopKey().proof("GET", f"{live_server.url}/fhir/Observation", token)
    response = _get(live_server, token, proof, patient_data)
    assert response.status_code == 401
    assert "another key" in response.json()["issue"][0]["diagnostics"] or "other than" in response.text


def test_replayed_dpop_proof_is_refused(live_server, ingrid, patient_data, dpop_key):
    _client, token = ingrid
    proof = dpop_key.proof("GET", f"{live_server.url}/fhir/Observation", token)
    assert _get(live_server, token, proof, patient_data).status_code == 200
    replay = _get(live_server, token, proof, patient_data)
    assert replay.status_code == 401
    assert "replay" in replay.text


def test_dpop_proof_for_another_url_is_refused(live_server, ingrid, patient_data, dpop_key):
    _client, token = ingrid
    proof = dpop_key.proof("GET", f"{live_server.url}/fhir/AuditEvent", token)
    response = _get(live_server, token, proof, patient_data)
    assert response.status_code == 401
    assert "another URL" in response.text


def test_dpop_bound_token_as_bearer_is_refused(live_server, ingrid, patient_data, dpop_key):
    _client, token = ingrid
    proof = dpop_key.proof("GET", f"{live_server.url}/fhir/Observation", token)
    assert _get(live_server, token, proof, patient_data, scheme="Bearer").status_code == 401


def test_fhirpy_count_works(ingrid, patient_data):
    """fhirpy's count() sends _totalMethod (Aidbox's name for _total); it was refused with 400."""
    client, _token = ingrid
    assert client.resources("Observation").search(**_patient(patient_data)).count() == _total(
        client.resources("Observation").search(**_patient(patient_data))
    )


def test_fhirpy_reports_a_missing_token(live_server, patient_data):
    client = SyncFHIRClient(f"{live_server.url}/fhir")
    with pytest.raises((AuthorizationError, OperationOutcome)):
        client.resources("Observation").search(**_patient(patient_data)).fetch()


def test_searches_over_the_hourly_limit_are_refused_and_logged(live_server, ingrid, patient_data, settings):
    settings.LOOKUP_RATE_LIMIT_PER_HOUR = 2
    client, _token = ingrid
    for _ in range(2):
        client.resources("Observation").search(**_patient(patient_data)).limit(1).fetch()
    with pytest.raises(OperationOutcome, match="For mange oppslag"):
        client.resources("Observation").search(**_patient(patient_data)).limit(1).fetch()
    refused = AuditEvent.objects.filter(event="api.search", outcome="denied").get()
    assert refused.data["denial"] == "rate-limited"


def test_lastn_is_a_lookup_under_the_hourly_limit(live_server, ingrid, patient_data, settings, dpop_key):
    """$lastn once skipped the limit: with it used up, search gave 429 and $lastn 200 with data."""
    settings.LOOKUP_RATE_LIMIT_PER_HOUR = 2
    client, token = ingrid
    client.execute("Observation/$lastn", method="get", params=_patient(patient_data))  # counts as one
    client.resources("Observation").search(**_patient(patient_data)).limit(1).fetch()
    with pytest.raises(OperationOutcome, match="For mange oppslag"):
        client.resources("Observation").search(**_patient(patient_data)).limit(1).fetch()
    response = requests.get(
        f"{live_server.url}/fhir/Observation/$lastn",
        params=_patient(patient_data),
        auth=DpopAuth(token, dpop_key),
        timeout=10,
    )
    assert response.status_code == 429
    assert "entry" not in response.json() and patient_data not in response.text
    refused = AuditEvent.objects.filter(event="api.lastn", outcome="denied").get()
    assert refused.data == {"denial": "rate-limited"} and refused.municipality_list == ["311111019"]
