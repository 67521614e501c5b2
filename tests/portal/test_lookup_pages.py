"""The clinician's search page: validated input, decided and logged lookups."""

import pytest

from sharing.audit.models import AuditEvent
from tests.conftest import idp_login

pytestmark = pytest.mark.django_db(transaction=True)


def _search(client, national_id, reason="Innlagt på medisinsk avdeling", basis="care"):
    return client.post("/", {"national_id": national_id, "basis": basis, "reason": reason})


def test_physician_with_agreement_sees_the_measurements(client, helseid, patient_data):
    idp_login(client, helseid, "ingrid-berg")
    response = _search(client, patient_data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Kari Nordmann" in page
    assert page.count("<tr>") > 300
    event = AuditEvent.objects.get(event="patient.lookup")
    assert (event.outcome, event.patient_value, event.actor_name) == ("granted", patient_data, "Ingrid Berg")
    assert event.reason == "Innlagt på medisinsk avdeling"


def test_physician_without_agreement_is_denied_and_logged(client, helseid, patient_data):
    idp_login(client, helseid, "per-dahl")
    response = _search(client, patient_data)
    assert response.status_code == 403
    page = response.content.decode()
    assert "Ingen avtale" in page
    assert "Kari Nordmann" not in page
    event = AuditEvent.objects.get(event="patient.lookup")
    assert (event.outcome, event.org_parent) == ("denied", "314444019")


def test_nurse_without_hpr_is_denied(client, helseid, patient_data):
    idp_login(client, helseid, "nina-lund")
    response = _search(client, patient_data)
    assert response.status_code == 403
    assert AuditEvent.objects.get(event="patient.lookup").data == {"denial": "no-hpr"}


@pytest.mark.parametrize(
    ("national_id", "message"),
    [
        ("1234", "11 siffer"),
        ("15888540014", "kontrollsif"),
    ],
)
def test_invalid_national_id_gets_a_message_and_no_lookup(client, helseid, oslo, national_id, message):
    idp_login(client, helseid, "ingrid-berg")
    response = _search(client, national_id)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(event="patient.lookup").exists()
