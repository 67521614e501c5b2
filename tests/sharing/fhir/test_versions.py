"""Versions and history over real HTTP: meta.versionId and lastUpdated, ETag and 304, vread,
_history after a correction and after a withdrawal, and Location with the version."""

import pytest
import requests
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound

from portal.login.devclient import DpopAuth, DpopKey, epj_user_token
from sharing.audit.models import AuditEvent
from tests.sharing.fhir.ingest_helpers import KARI, Api, api, heart_rate

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["api"]


@pytest.fixture
def reader(live_server, helseid, api):
    """Lovisenberg's EPJ acting for Ingrid Berg, and a way to send raw requests with fresh proofs."""
    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    client = SyncFHIRClient(f"{live_server.url}/fhir", requests_config={"auth": DpopAuth(token, key)})

    def get(path, method="GET", **headers):
        url = f"{live_server.url}/fhir/{path}"
        return requests.request(method, url, headers=headers, auth=DpopAuth(token, key), timeout=10)

    return client, get


def _created(api: Api, resource) -> str:
    response = api.post(resource)
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    assert location.endswith("/_history/1")
    return location.split("/Observation/")[1].split("/")[0]


def test_read_has_a_version_etag_and_answers_304(api, reader):
    client, get = reader
    pk = _created(api, heart_rate(72, identifier="hr-v"))
    first = client.reference("Observation", pk).to_resource()
    assert first["meta"]["versionId"] == "1" and first["meta"]["lastUpdated"].endswith("Z")
    assert first["meta"]["profile"]  # the sender's meta is kept
    response = get(f"Observation/{pk}")
    assert response.headers["ETag"] == 'W/"1"'
    modified = response.headers["Last-Modified"]
    assert get(f"Observation/{pk}", **{"If-None-Match": 'W/"1"'}).status_code == 304
    assert get(f"Observation/{pk}", **{"If-Modified-Since": modified}).status_code == 304
    # A correction is version 2: the cached copy is stale now.
    corrected = api.post({**heart_rate(70, identifier="hr-v"), "status": "corrected"})
    assert corrected.headers["Location"].endswith(f"/Observation/{pk}/_history/2")
    fresh = get(f"Observation/{pk}", **{"If-None-Match": 'W/"1"'})
    assert fresh.status_code == 200 and fresh.json()["meta"]["versionId"] == "2"
    assert fresh.json()["valueQuantity"]["value"] == 70
    # Each read, 304 or not, is decided and logged.
    assert AuditEvent.objects.filter(event="api.read", outcome="granted").count() == 5


def test_vread_and_history_after_a_correction(api, reader):
    client, get = reader
    pk = _created(api, heart_rate(72, identifier="hr-h"))
    api.post({**heart_rate(70, identifier="hr-h"), "status": "corrected"})
    v1 = client.execute(f"Observation/{pk}/_history/1", method="get")
    v2 = client.execute(f"Observation/{pk}/_history/2", method="get")
    assert (v1["meta"]["versionId"], v1["valueQuantity"]["value"], v1["id"]) == ("1", 72, pk)
    assert (v2["meta"]["versionId"], v2["valueQuantity"]["value"]) == ("2", 70)
    history = client.execute(f"Observation/{pk}/_history", method="get")
    assert (history["type"], history["total"]) == ("history", 2)
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]
    assert get(f"Observation/{pk}/_history/3").status_code == 404
    event = AuditEvent.objects.filter(event="api.read", data__view="history").last()
    assert (event.outcome, event.patient_value, event.data["versions"]) == ("granted", KARI, [2, 1])


def test_a_withdrawal_is_discoverable_in_the_history(api, reader):
    client, get = reader
    pk = _created(api, heart_rate(72, identifier="hr-w"))
    assert api.post({**heart_rate(72, identifier="hr-w"), "status": "entered-in-error"}).status_code == 200
    with pytest.raises(ResourceNotFound):
        client.reference("Observation", pk).to_resource()
    history = client.execute(f"Observation/{pk}/_history", method="get")
    assert [(e["resource"]["meta"]["versionId"], e["resource"]["status"]) for e in history["entry"]] == [
        ("2", "entered-in-error"),
        ("1", "final"),
    ]
    assert get(f"Observation/{pk}/_history/2").json()["status"] == "entered-in-error"


def test_history_is_decided_like_a_read(api, reader, live_server, helseid):
    _client, _get = reader
    pk = _created(api, heart_rate(72, identifier="hr-d"))
    key = DpopKey()
    token = epj_user_token(helseid, "per-dahl", key, client_id="epj-fjordvik")  # no agreement
    for path in (f"Observation/{pk}/_history", f"Observation/{pk}/_history/1"):
        response = requests.get(f"{live_server.url}/fhir/{path}", auth=DpopAuth(token, key), timeout=10)
        assert response.status_code == 404
        assert "72" not in response.text
    assert AuditEvent.objects.filter(event="api.read", outcome="denied").count() == 2
    missing = requests.get(
        f"{live_server.url}/fhir/Observation/00000000-0000-4000-8000-000000000000/_history",
        auth=DpopAuth(token, key),
        timeout=10,
    )
    assert missing.status_code == 404


def test_head_on_read_and_search(api, reader):
    _client, get = reader
    pk = _created(api, heart_rate(72, identifier="hr-head"))
    read = get(f"Observation/{pk}", method="HEAD")
    assert read.status_code == 200 and read.content == b""
    assert read.headers["ETag"] == 'W/"1"' and int(read.headers["Content-Length"]) > 100
    search = get(f"Observation?patient.identifier={KARI}", method="HEAD")
    assert search.status_code == 200 and search.content == b""
    assert search.headers["Content-Type"].startswith("application/fhir+json")
