"""The municipality admin finds the data-quality page from the header and sees what to fix (issue 17)."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from devdata import demo
from devdata.demo import seed_demo_grants
from sharing.core.actor import Actor
from sharing.fhir.build import observation
from sharing.fhir.ingest import normalise_for
from sharing.measurements.actions import record_measurements

from .test_agreements_admin import browser_context_args, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["browser_context_args"]


def _send(client_id: str, kind: str, count: int, **kwargs) -> None:
    now = timezone.now()
    patient = demo.PATIENTS[1]
    resources = [
        observation(
            kind=kind,
            patient=patient.pid,
            patient_name=patient.name,
            effective=now - dt.timedelta(hours=h),
            value=90,
            municipality_orgnr=demo.OSLO,
            **kwargs,
        )  # fmt: skip
        for h in range(1, count + 1)
    ]
    for r in resources[: count // 2]:
        r["meta"]["profile"] = ["http://ehelse.no/fhir/StructureDefinition/vkp-Observation-Oxygensat"]
    items = [(normalise_for(r, demo.OSLO, now=now), r) for r in resources]
    record_measurements(items=items, source_orgnr=demo.OSLO, by=Actor(client_id=client_id))


def test_admin_sees_warnings_per_sender(page, live_server, helseid, oslo, screenshot):
    seed_demo_grants(by=demo.SEEDER)
    _send("vkp-oslo", "oxygen_saturation", 12)
    _send("dignio-oslo", "oxygen_saturation", 4, performer_fnr=demo.NURSE_FNR)
    log_in(page, live_server.url, "Astrid Holm")
    page.get_by_role("navigation", name="Administrasjon").get_by_role("link", name="Datakvalitet").click()
    expect(page.get_by_role("heading", name="Datakvalitet fra deres systemer")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Uventet identifikator for utfører")
    expect(page.locator("main")).to_contain_text("http://ehelse.no/fhir/StructureDefinition/vkp-Observation-Oxygensat")
    expect(page.locator("main")).not_to_contain_text(demo.PATIENTS[1].name)
    screenshot("quality-01-municipality-admin")
