"""The search page: validated input, decided and logged lookups, this session's recent patients."""

import pytest
from django.test import Client

from sharing.audit.models import AuditEvent
from tests.conftest import idp_login

from .conftest import open_patient

pytestmark = pytest.mark.django_db(transaction=True)


def _search(client, national_id, reason="Innlagt på medisinsk avdeling", basis="care"):
    return client.post("/", {"national_id": national_id, "basis": basis, "reason": reason})


def test_search_page_has_sensible_defaults(ingrid):
    page = ingrid.get("/").content.decode()
    # The reason starts empty, with quick picks from the coded list; nothing is chosen for the clinician.
    assert '<input type="text" name="reason" data-reason="" maxlength="500"' in page  # no value
    for label in ("Innleggelse", "Poliklinisk konsultasjon", "Oppfølging etter utskrivning", "Akutt forverring"):
        assert f"<span>{label}</span>" in page
    assert 'type="radio" name="reason_code"' in page and "checked" not in page.split("reason_code")[1][:200]
    assert '<option value="care" selected>' in page
    assert "Pasienter du har åpnet i denne økten" in page


def test_only_the_bases_the_agreements_allow_are_offered(client, helseid, oslo, year_data):
    # Lovisenberg's agreement with Oslo allows all three; Sagene legesenter's not emergency access.
    idp_login(client, helseid, "ingrid-berg")
    page = client.get("/").content.decode()
    assert all(f'<option value="{basis}"' in page for basis in ("care", "consent", "emergency"))
    client.post("/utlogging/")
    idp_login(client, helseid, "ola-hansen")
    page = client.get("/").content.decode()
    assert '<option value="care"' in page and '<option value="consent"' in page
    assert '<option value="emergency"' not in page
    # Sent anyway, it is a form error: nothing is decided or read.
    response = client.post("/", {"national_id": year_data, "basis": "emergency", "reason": "Bevisstløs"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(event="patient.lookup").exists()


def test_a_quick_pick_is_the_reason_and_its_code_is_logged(ingrid, year_data):
    # Without script: the pick stands as the reason when the field is left empty.
    response = ingrid.post("/", {"national_id": year_data, "basis": "care", "reason_code": "admission", "reason": ""})
    assert response.status_code == 302
    event = AuditEvent.objects.get(event="patient.lookup")
    assert (event.reason, event.data["reason_code"]) == ("Innleggelse", "admission")
    # A pick with the clinician's own words: the words are the reason, the code is kept beside them.
    ingrid.post(
        "/",
        {
            "national_id": year_data,
            "basis": "care",
            "reason_code": "after-discharge",
            "reason": "Kontroll etter hjertesvikt",
        },
    )
    event = AuditEvent.objects.filter(event="patient.lookup").last()
    assert (event.reason, event.data["reason_code"]) == ("Kontroll etter hjertesvikt", "after-discharge")
    # Words alone: no code.
    _search(ingrid, year_data)
    assert "reason_code" not in AuditEvent.objects.filter(event="patient.lookup").last().data


@pytest.mark.parametrize(
    ("data", "message"),
    [({"reason_code": "", "reason": "  "}, "Velg en grunn eller skriv en selv"), ({"reason_code": "bored"}, "gyldig")],
)
def test_no_reason_or_an_unknown_code_is_refused(ingrid, year_data, data, message):
    response = ingrid.post("/", {"national_id": year_data, "basis": "care", **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(event="patient.lookup").exists()


def test_granted_lookup_is_logged_and_leads_to_the_patient_page(ingrid, year_data):
    response = _search(ingrid, "308759 28763")  # spaces are fine
    assert response.status_code == 302 and response["Location"].startswith("/pasient/")
    event = AuditEvent.objects.get(event="patient.lookup")
    assert (event.outcome, event.patient_value, event.actor_name) == ("granted", year_data, "Ingrid Berg")
    assert (event.reason, event.basis, event.data["view"]) == ("Innlagt på medisinsk avdeling", "care", "lookup")


def test_physician_without_agreement_is_denied_and_logged(client, helseid, year_data):
    idp_login(client, helseid, "per-dahl")
    response = _search(client, year_data)
    assert response.status_code == 403
    page = response.content.decode()
    assert "Ingen avtale" in page and "Kari Nordmann" not in page
    event = AuditEvent.objects.get(event="patient.lookup")
    assert (event.outcome, event.org_parent) == ("denied", "314444019")


def test_nurse_without_hpr_is_denied(client, helseid, year_data):
    idp_login(client, helseid, "nina-lund")
    assert _search(client, year_data).status_code == 403
    assert AuditEvent.objects.get(event="patient.lookup").data == {"denial": "no-hpr"}


@pytest.mark.parametrize(
    ("national_id", "message"),
    [("1234", "11 siffer"), ("15888540014", "kontrollsif"), ("10447210016", "H-nummer")],
)
def test_invalid_national_id_gets_a_message_and_no_lookup(ingrid, oslo, national_id, message):
    response = _search(ingrid, national_id)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and 'aria-invalid="true"' in page
    assert not AuditEvent.objects.filter(event="patient.lookup").exists()


def test_consent_needs_a_written_reason(ingrid, year_data):
    response = _search(ingrid, year_data, basis="consent", reason="")
    assert response.status_code == 400
    assert not AuditEvent.objects.exists() or not AuditEvent.objects.filter(event="patient.lookup").exists()


def test_recent_patients_are_listed_and_reopening_is_a_new_logged_lookup(ingrid, year_data):
    first = open_patient(ingrid, year_data)
    page = ingrid.get("/").content.decode()
    assert "308759 28763" in page and "Kari Nordmann" not in page  # the number typed, no name
    key = first.split("/")[2]
    response = ingrid.post(f"/pasient/{key}/apne/")
    assert response.status_code == 302 and response["Location"] != first
    lookups = AuditEvent.objects.filter(event="patient.lookup", outcome="granted")
    assert lookups.count() == 2 and {e.reason for e in lookups} == {"Innlagt"}
    assert ingrid.get(response["Location"]).status_code == 200
    # The old key still works (each key is its own lookup, decided again on every view).
    assert ingrid.get(first).status_code == 200


def test_recent_patients_belong_to_the_session(ingrid, year_data, helseid):
    url = open_patient(ingrid, year_data)
    other = Client()
    idp_login(other, helseid, "ingrid-berg")
    assert "308759 28763" not in other.get("/").content.decode()
    assert other.post(f"/pasient/{url.split('/')[2]}/apne/").status_code == 404
    assert AuditEvent.objects.filter(event="patient.lookup").count() == 1


def test_emergency_lookup_is_marked_on_the_page_and_time_boxed(ingrid, oslo, year_data):
    # Lovisenberg's agreement with Oslo (devdata.demo.seed_agreements) allows emergency access.
    url = open_patient(ingrid, year_data, basis="emergency", reason="Bevisstløs i mottak")
    page = ingrid.get(url).content.decode()
    assert "Akuttilgang" in page and "Tilgangen varer til" in page
    views = AuditEvent.objects.filter(event="patient.view")
    # Views state no new reason, so they ride on the window the lookup opened instead of extending it.
    assert [(e.basis, e.reason) for e in views] == [("emergency", "")]


def test_the_start_page_shows_no_name_once_a_reservation_ends_access(ingrid, year_data):
    """The recent list shows what the clinician typed; the name only comes back through a new lookup."""
    from django.utils import timezone

    from devdata import demo
    from sharing.agreements.actions import record_reservation
    from sharing.agreements.models import Organisation
    from sharing.core.actor import Actor

    url = open_patient(ingrid, year_data)
    assert "Kari Nordmann" in ingrid.get(url).content.decode()
    record_reservation(
        municipality=Organisation.objects.get(orgnr=demo.OSLO),
        patient_value=year_data,
        objected_on=timezone.localdate(),
        by=Actor(name="Astrid Holm"),
    )
    page = ingrid.get("/").content.decode()
    assert "308759 28763" in page and "Kari Nordmann" not in page
    assert ingrid.post(f"/pasient/{url.split('/')[2]}/apne/").status_code == 403  # a new lookup: denied


def test_opening_a_patient_again_keeps_the_quick_pick_in_the_new_record(ingrid, year_data):
    """ "Åpne igjen" is a new lookup with the same basis and reason: and the same coded reason."""
    first = ingrid.post("/", {"national_id": year_data, "basis": "care", "reason_code": "admission", "reason": ""})
    key = first["Location"].strip("/").split("/")[-1]
    again = ingrid.post(f"/pasient/{key}/apne/")
    assert again.status_code == 302
    lookups = list(AuditEvent.objects.filter(event="patient.lookup").order_by("id"))
    assert len(lookups) == 2
    assert [(e.reason, e.data.get("reason_code")) for e in lookups] == [("Innleggelse", "admission")] * 2
    # Opened again from the new entry, the code stays too; without a pick there is none to keep.
    ingrid.post(f"/pasient/{again['Location'].strip('/').split('/')[-1]}/apne/")
    assert AuditEvent.objects.filter(event="patient.lookup").last().data.get("reason_code") == "admission"
    _search(ingrid, year_data)
    words = AuditEvent.objects.filter(event="patient.lookup").last()
    plain = ingrid.post(f"/pasient/{ingrid.get('/').context['recent'][0].key}/apne/")
    assert plain.status_code == 302 and "reason_code" not in words.data
    assert "reason_code" not in AuditEvent.objects.filter(event="patient.lookup").last().data
