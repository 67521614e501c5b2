"""The municipality admin's data-quality page: warnings per sender over 30 days, with examples that
name what was sent wrong and nothing about the patient; nobody else's, and no access-log record."""

import datetime as dt

import pytest
from django.utils import timezone

from devdata import demo
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor
from sharing.fhir.build import observation
from sharing.fhir.ingest import normalise_for
from sharing.measurements.actions import record_measurements
from sharing.measurements.models import Measurement

pytestmark = pytest.mark.django_db

KARI = demo.PATIENTS[0]


def _ingest(client_id: str, municipality: str = demo.OSLO, **kwargs) -> None:
    now = timezone.now()
    resources = [
        observation(
            kind="heart_rate",
            patient=KARI.pid,
            patient_name=KARI.name,
            effective=now - dt.timedelta(hours=hours),
            value=71 + hours,
            municipality_orgnr=municipality,
            **kwargs,
        )
        for hours in range(1, 4)
    ]
    items = [(normalise_for(r, municipality, now=now), r) for r in resources]
    record_measurements(items=items, source_orgnr=municipality, by=Actor(client_id=client_id))


def test_warnings_by_sender_and_kind_with_examples(login):
    _ingest("vkp-oslo")  # the municipality as performer: outside the vital-sign profiles' value set
    _ingest("dignio-oslo", performer_fnr=demo.NURSE_FNR)  # conforming: no warnings
    page = login("astrid").get("/kommune/datakvalitet/").content.decode()
    assert "vkp-oslo" in page and "dignio-oslo" not in page
    assert "Uventet identifikator for utfører" in page and "performer-identifier-system" in page
    assert "urn:oid:2.16.578.1.12.4.1.4.101" in page  # what was sent: the fix is in the integration
    assert ">3<" in page  # three measurements with that warning
    for patient_data in (KARI.pid, KARI.name, "308759", ">72<", "urn:uuid:"):
        assert patient_data not in page
    assert not AuditEvent.objects.filter(event__startswith="patient.").exists()


def test_old_warnings_and_other_municipalities_are_not_shown(login):
    _ingest("vkp-oslo")
    Measurement.objects.update(received_at=timezone.now() - dt.timedelta(days=31))
    assert "Ingen advarsler i perioden" in login("astrid").get("/kommune/datakvalitet/").content.decode()
    _ingest("vkp-oslo")
    assert "vkp-oslo" not in login("berit").get("/kommune/datakvalitet/").content.decode()


@pytest.mark.parametrize("person", ["jonas", "ingrid", "siri"])
def test_only_the_municipality_admin_sees_it(login, person):
    assert login(person).get("/kommune/datakvalitet/").status_code == 403
