"""PMD 2.0 at the door: the hub sending collection Bundles for several municipalities, each
entry checked against the sender's authorisations and the municipality's processing agreement."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from devdata import demo
from sharing.agreements.actions import end_processing_agreement
from sharing.agreements.models import ProcessingAgreement, SenderAuthorisation
from sharing.audit.models import AuditEvent
from sharing.fhir.bundles import BUNDLE_IDENTIFIER, RESPONSE_PROFILE
from sharing.fhir.ingest import KOMMUNENUMMER
from sharing.fhir.models import ReceivedBundle
from sharing.measurements.models import Measurement

from .ingest_helpers import KARI, PER, Api, api, heart_rate, statuses

__all__ = ["api"]

VKP = Path(os.environ.get("VKP_DIR", Path(__file__).resolve().parents[3].parent / "shared" / "vkp"))
OSLO_NUMBER, BAERUM_NUMBER = demo.MUNICIPALITY_NUMBERS[demo.OSLO], demo.MUNICIPALITY_NUMBERS[demo.BAERUM]


def tag(number: str) -> dict[str, Any]:
    return {"tag": [{"system": KOMMUNENUMMER, "code": number}]}


def collection(*resources: dict[str, Any], number: str = OSLO_NUMBER, identifier: str = "") -> dict[str, Any]:
    """A PMD 2.0 Bundle: collection, the PMD identifier, the municipality number; entries without request."""
    return {
        "resourceType": "Bundle",
        "meta": tag(number),
        "identifier": {"system": BUNDLE_IDENTIFIER, "value": identifier or str(uuid.uuid4())},
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r} for r in resources],
    }


def for_baerum(resource: dict[str, Any]) -> dict[str, Any]:
    """The same kind of measurement, sent for Bærum: tagged with its number, Bærum as performer."""
    resource["performer"][0]["identifier"]["value"] = demo.BAERUM
    resource["meta"] = {**resource.get("meta", {}), **tag(BAERUM_NUMBER)}
    return resource


@pytest.fixture
def hub(live_server: Any, helseid: Any, oslo: Any) -> Api:
    """The hub's client (VKP), authorised for Oslo and Bærum by the demo register."""
    return Api(live_server.url + "/fhir", helseid.system_token(demo.HUB_CLIENT))


def end_hub_for_baerum() -> None:
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    call_command("authorise_sender", client_id=demo.HUB_CLIENT, municipality=demo.BAERUM, end=yesterday.isoformat())


def test_hub_sends_for_two_municipalities_one_authorised_one_not(hub: Api) -> None:
    end_hub_for_baerum()
    sent = collection(heart_rate(61), for_baerum(heart_rate(62, patient=PER)), heart_rate(63))
    response = hub.bundle(sent)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["type"], answer["meta"]["profile"]) == ("batch-response", [RESPONSE_PROFILE])
    assert statuses(response) == ["201 Created", "403 Forbidden", "201 Created"]
    refused = answer["entry"][1]["response"]["outcome"]["issue"][0]
    assert (refused["code"], refused["details"]["coding"][0]["code"]) == ("forbidden", "municipality-not-authorised")
    assert f"har ikke fullmakt til å sende for {demo.BAERUM}" in refused["diagnostics"]  # Norwegian by default
    assert [e["fullUrl"] for e in answer["entry"]] == [e["fullUrl"] for e in sent["entry"]]
    assert sorted(Measurement.objects.values_list("source_orgnr", "value")) == [(demo.OSLO, 61.0), (demo.OSLO, 63.0)]
    event = AuditEvent.objects.get(event="ingest.refused")
    assert (event.client_id, event.data["entries"], event.data["of"]) == (demo.HUB_CLIENT, [1], 3)
    assert demo.BAERUM in event.municipalities.split()  # Bærum's auditors see what was refused for them

    again = hub.bundle(sent)  # a re-send stores nothing new; the refused entry is refused again
    assert statuses(again) == ["200 OK", "403 Forbidden", "200 OK"]
    assert Measurement.objects.count() == 2


def test_hub_sends_for_each_authorised_municipality(hub: Api) -> None:
    response = hub.bundle(collection(heart_rate(61), for_baerum(heart_rate(62, patient=PER))))
    assert statuses(response) == ["201 Created", "201 Created"], response.text
    assert sorted(Measurement.objects.values_list("source_orgnr", flat=True)) == sorted([demo.OSLO, demo.BAERUM])


def test_the_bundle_tag_names_the_municipality(hub: Api) -> None:
    baerum = heart_rate(70, patient=PER)
    baerum["performer"][0]["identifier"]["value"] = demo.BAERUM
    response = hub.bundle(collection(baerum, number=BAERUM_NUMBER))
    assert statuses(response) == ["201 Created"], response.text
    assert Measurement.objects.get().source_orgnr == demo.BAERUM


def test_a_municipality_without_a_processing_agreement_in_force_gets_nothing_stored(hub: Api) -> None:
    end_processing_agreement(
        agreement=ProcessingAgreement.objects.get(municipality__orgnr=demo.BAERUM),
        on=timezone.localdate() - dt.timedelta(days=1),
        by=demo.SEEDER,
    )
    response = hub.bundle(collection(heart_rate(61), for_baerum(heart_rate(62, patient=PER))))
    assert statuses(response) == ["201 Created", "403 Forbidden"], response.text
    issue = response.json()["entry"][1]["response"]["outcome"]["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "no-processing-agreement"
    assert "ingen gjeldende databehandleravtale" in issue["diagnostics"]
    assert list(Measurement.objects.values_list("source_orgnr", flat=True)) == [demo.OSLO]


def test_an_unknown_municipality_number_is_refused_per_entry(hub: Api) -> None:
    response = hub.bundle(collection(heart_rate(61), number="9999"))
    assert statuses(response) == ["403 Forbidden"]
    assert "9999" in response.json()["entry"][0]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert not Measurement.objects.exists()


def test_the_hub_without_a_tag_must_name_the_municipality(hub: Api) -> None:
    sent = collection(heart_rate(61))
    del sent["meta"]
    response = hub.bundle(sent)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Bundle.meta.tag"]
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": heart_rate(), "request": {"method": "POST", "url": "Observation"}}
        ],
    }
    response = hub.bundle(batch)  # a batch without a tag, from a client of two municipalities
    assert statuses(response) == ["403 Forbidden"]
    [issue] = response.json()["entry"][0]["response"]["outcome"]["issue"]
    assert (issue["details"]["coding"][0]["code"], issue["diagnostics"][:15]) == (
        "municipality-unnamed",
        "Oppgi kommunen:",
    )


def test_a_resent_bundle_identifier_is_answered_from_the_receipt(hub: Api) -> None:
    sent = collection(heart_rate(61), heart_rate(62), identifier="pmd-bundle-1")
    first = hub.bundle(sent)
    assert statuses(first) == ["201 Created", "201 Created"]
    changed = collection(heart_rate(64), identifier="pmd-bundle-1")  # same identifier: already received
    again = hub.bundle(changed)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Measurement.objects.count() == 2
    assert ReceivedBundle.objects.filter(client_id=demo.HUB_CLIENT, identifier="pmd-bundle-1").count() == 1


def test_a_single_municipality_sender_writes_for_its_own_only(live_server: Any, helseid: Any, oslo: Any) -> None:
    own = Api(live_server.url + "/fhir", helseid.system_token("vkp-oslo"))
    response = own.bundle(collection(for_baerum(heart_rate(62, patient=PER)), number=BAERUM_NUMBER))
    assert statuses(response) == ["403 Forbidden"]
    assert not Measurement.objects.exists()
    assert statuses(own.bundle(collection(heart_rate(61)))) == ["201 Created"]


def test_the_guides_bundle_as_a_pmd2_collection(hub: Api) -> None:
    example = json.loads((VKP / "examples" / "pmd-Bundle-Request-example.json").read_text(encoding="utf-8"))
    resources = [e["resource"] for e in example["entry"]]
    for resource in resources:
        resource.pop("performer", None)  # HER-ids, outside the value set: not a municipality
    response = hub.bundle(collection(*resources))
    assert response.status_code == 200, response.text
    assert all(s.startswith("20") for s in statuses(response)), response.text
    assert Measurement.objects.filter(source_orgnr=demo.OSLO).count() == len(resources)


def test_sender_register_commands_are_audited(oslo: Any) -> None:
    call_command(
        "authorise_sender",
        client_id="dho-baerum",
        municipality=demo.BAERUM,
        valid_from="2026-01-01",
        instructed_by="Bærum kommune, sak 26/123",
    )
    row = SenderAuthorisation.objects.get(client_id="dho-baerum")
    assert (row.municipality.orgnr, row.valid_from, row.valid_to) == (demo.BAERUM, dt.date(2026, 1, 1), None)
    event = AuditEvent.objects.filter(event="sender.authorise").latest("id")
    assert event.data["after"]["instructed_by"] == "Bærum kommune, sak 26/123"
    with pytest.raises(CommandError):
        call_command("authorise_sender", client_id="x", municipality=demo.LOVISENBERG, instructed_by="y")
    call_command(
        "record_processing_agreement",
        municipality=demo.BAERUM,
        reference="DBA-3201-2025",
        signed="2025-01-01",
        valid_from="2025-01-01",
        valid_to="2026-12-31",
        contact="personvernombud@baerum.example",
    )
    dpa = ProcessingAgreement.objects.get(municipality__orgnr=demo.BAERUM, reference="DBA-3201-2025")
    assert dpa.valid_to == dt.date(2026, 12, 31)
    change = AuditEvent.objects.filter(event="processing_agreement.record").latest("id")
    assert change.data["before"]["valid_to"] is None and change.data["after"]["valid_to"] == "2026-12-31"
    with pytest.raises(CommandError, match="før den begynner"):
        call_command(
            "record_processing_agreement",
            municipality=demo.BAERUM,
            reference="DBA-3201-2025",
            signed="2025-01-01",
            valid_from="2025-01-01",
            valid_to="2024-12-31",
        )
    assert KARI  # the helpers' patient stays the default
