"""Return of data: Bulk Data $export of a municipality's measurements by its own system, over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from devdata import demo
from sharing.audit.models import AuditEvent
from sharing.measurements.models import Measurement

from .ingest_helpers import PER, Api, api, heart_rate

__all__ = ["api"]


def exporter(live_server: Any, helseid: Any, client_id: str) -> Api:
    scope = f"{settings.FHIR_SCOPE_OBSERVATION_WRITE} {settings.FHIR_SCOPE_EXPORT}"
    return Api(live_server.url + "/fhir", helseid.system_token(client_id, scope=scope))


def kick_off(client: Api, query: str = "") -> requests.Response:
    headers = {"Authorization": f"Bearer {client.token}", "Accept": "application/fhir+json", "Prefer": "respond-async"}
    return requests.get(f"{client.base}/$export{query}", headers=headers, timeout=30)


def export(client: Api, query: str = "") -> list[dict[str, Any]]:
    """Kick off, poll the status URL until complete, fetch every file; the resources."""
    auth = {"Authorization": f"Bearer {client.token}"}
    started = kick_off(client, query)
    assert started.status_code == 202, started.text
    status_url = started.headers["Content-Location"]
    for _ in range(20):
        status = requests.get(status_url, headers=auth, timeout=30)
        if status.status_code == 200:
            break
        assert status.status_code == 202
        time.sleep(0.2)
    manifest = status.json()
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    resources = []
    for output in manifest["output"]:
        assert output["type"] == "Observation"
        file = requests.get(output["url"], headers=auth, timeout=30)
        assert file.status_code == 200
        assert file.headers["Content-Type"].startswith("application/fhir+ndjson")
        lines = [json.loads(line) for line in file.text.splitlines()]
        assert len(lines) == output["count"]
        resources.extend(lines)
    return resources


def test_a_municipality_exports_exactly_its_own(live_server: Any, helseid: Any, oslo: Any) -> None:
    oslo_client = exporter(live_server, helseid, "vkp-oslo")
    baerum_client = exporter(live_server, helseid, "vkp-baerum")
    for value in (61, 62, 63):
        assert oslo_client.post(heart_rate(value)).status_code == 201
    baerum = heart_rate(90, patient=PER)
    baerum["performer"][0]["identifier"]["value"] = demo.BAERUM
    assert baerum_client.post(baerum).status_code == 201

    got = export(oslo_client)
    stored = {str(m.id): m for m in Measurement.objects.filter(source_orgnr=demo.OSLO)}
    assert {r["id"] for r in got} == set(stored)
    assert sorted(r["valueQuantity"]["value"] for r in got) == [61, 62, 63]
    assert all(r["resourceType"] == "Observation" and r["meta"]["versionId"] == "1" for r in got)

    theirs = export(baerum_client)
    assert [r["valueQuantity"]["value"] for r in theirs] == [90]
    assert not {r["id"] for r in theirs} & set(stored)

    records = AuditEvent.objects.filter(event="api.export").order_by("id")
    assert [(e.client_id, e.data["count"], e.outcome) for e in records] == [
        ("vkp-oslo", 3, "granted"),
        ("vkp-baerum", 1, "granted"),
    ]
    assert records[0].municipalities.split() == [demo.OSLO]


def test_since_and_another_clients_status_url(live_server: Any, helseid: Any, oslo: Any) -> None:
    oslo_client = exporter(live_server, helseid, "vkp-oslo")
    assert oslo_client.post(heart_rate(61)).status_code == 201
    time.sleep(0.05)
    mid = timezone.now().isoformat()
    time.sleep(0.05)
    assert oslo_client.post(heart_rate(62)).status_code == 201
    time.sleep(0.05)
    got = export(oslo_client, f"?_type=Observation&_since={requests.utils.quote(mid)}")
    assert [r["valueQuantity"]["value"] for r in got] == [62]
    started = kick_off(oslo_client)
    baerum_client = exporter(live_server, helseid, "vkp-baerum")
    peek = requests.get(
        started.headers["Content-Location"], headers={"Authorization": f"Bearer {baerum_client.token}"}, timeout=30
    )
    assert peek.status_code == 404


def test_the_hub_and_bad_requests_are_refused(live_server: Any, helseid: Any, oslo: Any) -> None:
    hub = Api(live_server.url + "/fhir", helseid.system_token(demo.HUB_CLIENT))
    assert kick_off(hub).status_code == 403  # no export scope
    oslo_client = exporter(live_server, helseid, "vkp-oslo")
    for query in (
        "?_type=Patient",
        "?_since=yesterday",
        "?_since=2020-01-01T00:00:00",
        "?_outputFormat=csv",
        "?patient=1",
    ):
        answer = kick_off(oslo_client, query)
        assert answer.status_code == 400, query
        assert answer.json()["resourceType"] == "OperationOutcome"
    no_async = requests.get(
        f"{oslo_client.base}/$export", headers={"Authorization": f"Bearer {oslo_client.token}"}, timeout=30
    )
    assert no_async.status_code == 400


def test_a_client_that_is_not_the_municipalitys_own_system_gets_nothing(
    live_server: Any, helseid: Any, oslo: Any
) -> None:
    from django.core.management import call_command

    oslo_client = exporter(live_server, helseid, "vkp-oslo")
    assert oslo_client.post(heart_rate(61)).status_code == 201
    call_command(
        "authorise_sender",
        client_id="vkp-oslo",
        municipality=demo.OSLO,
        end=(timezone.localdate() - dt.timedelta(days=1)).isoformat(),
    )
    answer = kick_off(oslo_client)
    assert answer.status_code == 403
    record = AuditEvent.objects.get(event="api.export")
    assert (record.outcome, record.client_id) == ("denied", "vkp-oslo")


def test_metadata_names_the_export_operation(live_server: Any) -> None:
    rest = requests.get(f"{live_server.url}/fhir/metadata", timeout=10).json()["rest"][0]
    [operation] = rest["operation"]
    assert operation["name"] == "export"
    assert operation["definition"] == "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"


@pytest.mark.django_db
def test_a_senders_last_day_ends_at_oslo_midnight(oslo: Any) -> None:
    """At 00:30 in Oslo (23:30 UTC, still the day before there) a sender whose last day was
    yesterday may no longer export: days are Oslo's days, as they are for ingest."""
    import time_machine
    from django.core.management import call_command

    from sharing.access.export import export_observations
    from sharing.core.actor import Actor

    today = timezone.localdate()
    call_command("authorise_sender", client_id="vkp-oslo", municipality=demo.OSLO, end=today.isoformat())
    oslo_system = Actor(client_id="vkp-oslo", orgnr_parent=demo.OSLO)
    just_after = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0, 30), tzinfo=demo.TZ)
    with time_machine.travel(just_after, tick=False):
        assert export_observations(by=oslo_system, municipality=demo.OSLO, since=None, job="late") is None
    with time_machine.travel(just_after - dt.timedelta(hours=1), tick=False):
        assert export_observations(by=oslo_system, municipality=demo.OSLO, since=None, job="in-time") is not None
    outcomes = dict(AuditEvent.objects.filter(event="api.export").values_list("data__job", "outcome"))
    assert outcomes == {"late": "denied", "in-time": "granted"}
