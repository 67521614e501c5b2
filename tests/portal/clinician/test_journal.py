""" "Kopier til journal": a plain-text note of one period, its own audited event (patient.export)."""

import datetime as dt
import html

import pytest
from django.test import Client
from django.utils import timezone

from sharing.audit.models import AuditEvent
from tests.conftest import idp_login

from .conftest import open_patient
from .factories import KARI, measurement, store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heart_failure(oslo):
    """Kari over two weeks: stable, then 2.2 kg in three days and blood pressure above 135/85."""
    now = timezone.now()
    weights = [80.0] * 10 + [80.1, 81.0, 81.8, 82.3]
    rows = [
        measurement(kind="body_weight", effective=now - dt.timedelta(days=13 - i), value=w)
        for i, w in enumerate(weights)
    ]
    rows += [
        measurement(kind="blood_pressure", effective=now - dt.timedelta(days=6 - i), systolic=142, diastolic=86)
        for i in range(7)
    ]
    rows[-1].note, rows[-1].device = "Hovne ankler", "Omron M7"
    store(rows)
    return KARI


def _journal(client: Client, url: str, period: str = "30d") -> str:
    response = client.post(url + "journalnotat/", {"periode": period})
    assert response.status_code == 200, response.content.decode()[:500]
    page = response.content.decode()
    return html.unescape(page[page.index('id="journal-note"') :].split(">", 1)[1].split("</textarea>")[0])


def test_the_note_has_values_means_trends_thresholds_and_who_looked(heart_failure, ingrid):
    note = _journal(ingrid, open_patient(ingrid, heart_failure))
    assert note.startswith("Hjemmemålinger (digital hjemmeoppfølging), Kari Nordmann, fødselsnummer 308759 28763")
    assert "Data fra: Oslo kommune." in note
    assert "Avtale: Oslo kommune: alle målingstyper, hele perioden" in note
    assert "Slått opp " in note and "av Ingrid Berg, Lovisenberg" in note
    assert "Vekt: siste 82,3 kg" in note and "(14 målinger)" in note
    assert "Vekten har økt 2 kg eller mer på 3 dager (+2,2 kg)" in note
    assert "Blodtrykk: siste 142/86 mmHg" in note and "snitt 142,0/86,0" in note
    assert "Grense 90–135 / 50–85 (standard)." in note
    assert "Snitt 7 dager over grensen (systolisk 142,0)" in note


def test_copying_is_its_own_audited_event_with_the_period_shown(ingrid, heart_failure):
    url = open_patient(ingrid, heart_failure)
    _journal(ingrid, url, "7d")
    event = AuditEvent.objects.filter(event="patient.export").get()
    assert (event.outcome, event.patient_value) == ("granted", KARI)
    assert event.data["view"] == "journal-note" and event.data["format"] == "text"
    assert event.data["kinds"] == ["blood_pressure", "body_weight"]
    assert event.data["count"] == 7 + 7


def test_the_note_is_made_only_on_post_and_only_in_the_session_that_looked_up(ingrid, heart_failure, helseid):
    url = open_patient(ingrid, heart_failure)
    assert ingrid.get(url + "journalnotat/").status_code == 405
    other = Client()
    idp_login(other, helseid, "ingrid-berg")
    assert other.post(url + "journalnotat/", {"periode": "30d"}).status_code == 404
    assert not AuditEvent.objects.filter(event="patient.export").exists()
