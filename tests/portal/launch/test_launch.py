"""The EHR launch over real HTTP: the test EHR (testehr/, oidc-provider) authorizes the portal
with a single-use launch, the portal reads the patient from the EHR's FHIR server, the person
logs in with HelseID (devidp) and confirms, and the lookup is the ordinary one, logged with the
launch. Refusals: unknown iss, forged or replayed launch, state mismatch."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests
from django.test import Client

from sharing.audit.models import AuditEvent
from sharing.core.events import Event
from tests.conftest import DevIdP, SmartEhr, idp_login
from tests.portal.clinician.factories import KARI, seed_year

pytestmark = pytest.mark.django_db(transaction=True)

OUTSIDE = "12835140006"  # Nils Utenfor in the test EHR: no data, no agreement covers him


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def through_ehr(client: Client, launch_location: str, browser: requests.Session | None = None) -> Any:
    """The browser's trip: portal /launch/ → the EHR's authorization → the portal's callback.
    Returns the portal's answer to the callback (or to /launch/ when it refused at once)."""
    response = client.get(_path(launch_location))
    if response.status_code != 302:
        return response
    browser = browser or requests.Session()
    url = response["Location"]
    for _ in range(10):
        if url.startswith("http://testserver/"):
            return client.get(_path(url))
        answer = browser.get(url, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text
        url = urljoin(url, answer.headers["Location"])
    raise AssertionError("too many redirects")


@pytest.fixture
def ingrid(client: Client, helseid: DevIdP, oslo: dict[str, Any]) -> Client:
    seed_year()
    idp_login(client, helseid, "ingrid-berg")
    return client


def test_a_launch_opens_the_patient_with_the_encounter_as_justification(ingrid, testehr: SmartEhr):
    response = through_ehr(ingrid, testehr.launch_location("p1"))
    assert response.status_code == 302, response.content.decode()[:2000]
    confirm = ingrid.get(response["Location"])
    page = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Kari Nordmann" in page and "308759 28763" in page and "Encounter/e1" in page
    assert "Testjournal (Lovisenberg)" in page
    assert "Innlagt med tung pust og vektøkning, hjertesvikt" in page  # the reason, pre-filled
    assert not AuditEvent.objects.filter(event=Event.PATIENT_LOOKUP).exists()  # nothing opened before confirming
    opened = ingrid.post(response["Location"], {"reason": "Innlagt med tung pust og vektøkning, hjertesvikt"})
    assert opened.status_code == 302 and "/pasient/" in opened["Location"]
    overview = ingrid.get(opened["Location"])
    assert overview.status_code == 200 and "Kari Nordmann" in overview.content.decode()
    lookup = AuditEvent.objects.get(event=Event.PATIENT_LOOKUP)
    assert (lookup.outcome, lookup.patient_value, lookup.basis) == ("granted", KARI, "care")
    assert lookup.reason == "Innlagt med tung pust og vektøkning, hjertesvikt"
    assert lookup.data["launch"] == {
        "system": "Testjournal (Lovisenberg)",
        "iss": testehr.iss,
        "patient": "Patient/p1",
        "encounter": "Encounter/e1",
        "user": "Practitioner/ingrid-berg",
    }
    view = AuditEvent.objects.get(event=Event.PATIENT_VIEW)
    assert view.data["launch"]["encounter"] == "Encounter/e1"
    # The confirm page is used up: sending it again opens nothing more.
    again = ingrid.post(response["Location"], {"reason": "igjen"})
    assert again.status_code == 400 and AuditEvent.objects.filter(event=Event.PATIENT_LOOKUP).count() == 1


def test_every_record_of_a_launched_episode_carries_the_launch(ingrid, testehr):
    """The chart and table, the CSV file and the journal note of a patient opened from the EHR
    are logged with the launch like the lookup and the overview; a typed lookup's are not."""
    confirm_url = through_ehr(ingrid, testehr.launch_location("p1"))["Location"]
    patient = ingrid.post(confirm_url, {"reason": "Innlagt"})["Location"]
    assert ingrid.get(patient).status_code == 200
    assert ingrid.get(patient + "blood_pressure/", {"periode": "30d"}).status_code == 200
    assert ingrid.post(patient + "eksport/", {"kind": "blood_pressure", "periode": "7d"}).status_code == 200
    assert ingrid.post(patient + "eksport/").status_code == 200
    assert ingrid.post(patient + "journalnotat/", {"periode": "30d"}).status_code == 200
    records = AuditEvent.objects.filter(event__startswith="patient.").order_by("occurred_at")
    views = [(r.event, r.data.get("view")) for r in records]
    assert views == [
        (Event.PATIENT_LOOKUP, "lookup"),
        (Event.PATIENT_VIEW, "overview"),
        (Event.PATIENT_VIEW, "series"),
        (Event.PATIENT_EXPORT, "export"),
        (Event.PATIENT_EXPORT, "export"),
        (Event.PATIENT_EXPORT, "journal-note"),
    ]
    assert all(r.data["launch"]["encounter"] == "Encounter/e1" for r in records), [r.data for r in records]
    assert all(r.data["launch"]["system"] == "Testjournal (Lovisenberg)" for r in records)

    # The same patient typed in by hand: a new episode, none of its records claims the launch.
    typed = ingrid.post("/", {"national_id": KARI, "basis": "care", "reason": "Typed by hand"})["Location"]
    ingrid.get(typed)
    ingrid.get(typed + "blood_pressure/")
    ingrid.post(typed + "eksport/")
    later = AuditEvent.objects.filter(event__startswith="patient.", reason="Typed by hand")
    assert later.count() == 4 and not any("launch" in r.data for r in later)


def test_with_the_log_down_the_launched_lookup_shows_nothing(ingrid, testehr):
    from tests.sharing.audit.helpers import audit_writes_fail

    confirm_url = through_ehr(ingrid, testehr.launch_location("p1"))["Location"]
    with audit_writes_fail():
        response = ingrid.post(confirm_url, {"reason": "Innlagt"})
    assert response.status_code == 503 and "Kari Nordmann" not in response.content.decode()
    assert not AuditEvent.objects.filter(event=Event.PATIENT_LOOKUP).exists()


def test_the_reason_can_be_changed_but_not_left_empty(ingrid, testehr):
    confirm_url = through_ehr(ingrid, testehr.launch_location("p1"))["Location"]
    empty = ingrid.post(confirm_url, {"reason": "  "})
    assert empty.status_code == 400 and "Skriv hvorfor" in empty.content.decode()
    assert not AuditEvent.objects.filter(event=Event.PATIENT_LOOKUP).exists()
    ingrid.post(confirm_url, {"reason": "Tilsyn på sengepost"})
    assert AuditEvent.objects.get(event=Event.PATIENT_LOOKUP).reason == "Tilsyn på sengepost"


def test_a_launch_for_a_patient_outside_the_agreement_is_the_ordinary_denial_logged_with_the_launch(ingrid, testehr):
    confirm_url = through_ehr(ingrid, testehr.launch_location("p4"))["Location"]
    denied = ingrid.post(confirm_url, {"reason": "Brudd i håndledd"})
    assert denied.status_code == 403 and "Ingen tilgang" in denied.content.decode()
    lookup = AuditEvent.objects.get(event=Event.PATIENT_LOOKUP)
    assert (lookup.outcome, lookup.patient_value) == ("denied", OUTSIDE)
    assert lookup.data["denial"] and lookup.data["launch"]["encounter"] == "Encounter/e4"


def test_without_a_portal_login_the_person_logs_in_with_helseid_first(client, helseid, testehr, oslo):
    confirm_url = through_ehr(client, testehr.launch_location("p1"))["Location"]
    response = client.get(confirm_url)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/oidc/authenticate/"
    assert dict(parse_qsl(urlsplit(response["Location"]).query))["next"] == confirm_url
    assert not AuditEvent.objects.filter(event=Event.PATIENT_LOOKUP).exists()


def test_inside_the_ehrs_frame_without_a_login_the_login_opens_in_a_window_of_its_own(client, helseid, testehr, oslo):
    confirm_url = through_ehr(client, testehr.launch_location("p1"))["Location"]
    response = client.get(confirm_url, headers={"Sec-Fetch-Dest": "iframe"})
    page = response.content.decode()
    assert response.status_code == 200 and "Logg inn med HelseID i nytt vindu" in page
    assert 'target="_blank"' in page and "/oidc/authenticate/?next=" in page


def _user_refusal(response: Any, text: str, code: str) -> AuditEvent:
    """Refused after the login, before the patient is shown: 403, the reason, nothing opened."""
    page = response.content.decode()
    assert response.status_code == 403, page[:2000]
    assert "Oppstart fra pasientjournalen avvist" in page and text in page
    assert "Kari Nordmann" not in page and "28763" not in page
    assert not AuditEvent.objects.filter(event__startswith="patient.").exists()
    record = AuditEvent.objects.get(event=Event.LAUNCH_REFUSED)
    assert record.data["refusal"] == code and record.outcome == "denied"
    return record


def test_a_launch_by_another_person_in_the_ehr_is_refused_before_the_patient_is_shown(ingrid, testehr):
    """Knut Rud is logged in to the EHR (his fødselsnummer on his Practitioner), Ingrid Berg to the portal."""
    confirm_url = through_ehr(ingrid, testehr.launch_location("p1", user="knut-rud"))["Location"]
    record = _user_refusal(ingrid.get(confirm_url), "som en annen person", "user-mismatch")
    assert record.actor_name == "Ingrid Berg"
    assert record.data["launch"]["user"] == "Practitioner/knut-rud"
    assert record.data["launch"]["encounter"] == "Encounter/e1"
    # The launch is used up: confirming it anyway opens nothing.
    again = ingrid.post(confirm_url, {"reason": "Innlagt"})
    assert again.status_code == 400 and not AuditEvent.objects.filter(event__startswith="patient.").exists()


def test_an_hpr_number_that_differs_is_another_person(ingrid, testehr):
    """Marte Eik's Practitioner carries only her HPR number: not Ingrid Berg's."""
    confirm_url = through_ehr(ingrid, testehr.launch_location("p1", user="marte-eik"))["Location"]
    _user_refusal(ingrid.get(confirm_url), "som en annen person", "user-mismatch")


def test_an_ehr_user_the_portal_cannot_identify_is_refused(ingrid, testehr):
    """Tove Vikar's Practitioner has neither fødselsnummer nor HPR number: nothing to compare."""
    confirm_url = through_ehr(ingrid, testehr.launch_location("p1", user="tove-vikar"))["Location"]
    _user_refusal(ingrid.post(confirm_url, {"reason": "Innlagt"}), "hvem som er logget inn", "user-unverified")


def test_the_same_person_by_fodselsnummer_alone_is_let_through(client, helseid, testehr, oslo):
    """Knut Rud in both: his Practitioner names his fødselsnummer only, HelseID gives the same pid."""
    idp_login(client, helseid, "knut-rud")
    confirm_url = through_ehr(client, testehr.launch_location("p1", user="knut-rud"))["Location"]
    confirm = client.get(confirm_url)
    assert confirm.status_code == 200 and "Kari Nordmann" in confirm.content.decode()
    assert not AuditEvent.objects.filter(event=Event.LAUNCH_REFUSED).exists()


def test_the_person_who_logs_in_after_the_launch_is_checked_too(client, helseid, testehr, oslo):
    """No portal login when the launch arrives: the check is made after the HelseID login."""
    confirm_url = through_ehr(client, testehr.launch_location("p1", user="knut-rud"))["Location"]
    assert client.get(confirm_url).status_code == 302
    idp_login(client, helseid, "ingrid-berg")
    _user_refusal(client.get(confirm_url), "som en annen person", "user-mismatch")


def test_when_the_ehrs_practitioner_cannot_be_read_the_launch_is_refused(ingrid, testehr, monkeypatch):
    from portal.launch import smart

    real = smart._get_json

    def no_practitioner(url: str, **kwargs: Any) -> dict[str, Any]:
        if "/Practitioner/" in url:
            raise requests.HTTPError("403 Client Error: Forbidden")
        return real(url, **kwargs)

    monkeypatch.setattr(smart, "_get_json", no_practitioner)
    response = through_ehr(ingrid, testehr.launch_location("p1"))
    assert response.status_code == 502 and "Oppstart fra pasientjournalen avvist" in response.content.decode()
    record = AuditEvent.objects.get(event=Event.LAUNCH_REFUSED)
    assert record.data == {"launch": {"iss": testehr.iss}, "refusal": "ehr-unavailable"}


def _refusal(response: Any, text: str) -> AuditEvent:
    page = response.content.decode()
    assert response.status_code == 400, page[:2000]
    assert "Oppstart fra pasientjournalen avvist" in page and text in page
    assert not AuditEvent.objects.filter(event__startswith="patient.").exists()
    return AuditEvent.objects.filter(event=Event.LAUNCH_REFUSED).latest("occurred_at")


def test_a_replayed_launch_is_refused_and_logged(ingrid, testehr):
    location = testehr.launch_location("p1")
    assert through_ehr(ingrid, location).status_code == 302
    record = _refusal(through_ehr(ingrid, location), "allerede brukt")
    assert record.data["refusal"] == "launch-refused" and record.actor_name == "Ingrid Berg"
    assert "launch already used" in testehr.log.read_text()


def test_a_forged_launch_is_refused_and_logged(ingrid, testehr):
    location = testehr.launch_location("p1").replace("launch=", "launch=forged")
    record = _refusal(through_ehr(ingrid, location), "allerede brukt")
    assert record.data == {"launch": {"iss": testehr.iss}, "refusal": "launch-refused"}


def test_a_launch_from_an_unregistered_iss_is_refused_without_asking_it(ingrid, testehr):
    location = testehr.launch_location("p1").replace("127.0.0.1", "localhost")
    response = ingrid.get(_path(location))
    record = _refusal(response, "ikke registrert hos oss")
    assert record.data["refusal"] == "unknown-ehr"
    assert "/auth" not in testehr.log.read_text().split("/ehr/launch")[-1]


def test_missing_parameters_are_refused(ingrid, testehr):
    assert _refusal(ingrid.get("/launch/", {"iss": testehr.iss}), "manglet").data["refusal"] == "missing"


def test_an_answer_with_a_state_this_session_did_not_send_is_refused(ingrid, testehr):
    response = ingrid.get("/launch/callback/", {"code": "abc", "state": "not-ours"})
    assert _refusal(response, "hører ikke til").data["refusal"] == "state"
    # Another browser's launch, answered into this session: refused the same way.
    other = Client()
    start = other.get(_path(testehr.launch_location("p1")))
    state = dict(parse_qsl(urlsplit(start["Location"]).query))["state"]
    response = ingrid.get("/launch/callback/", {"code": "abc", "state": state})
    assert _refusal(response, "hører ikke til").data["refusal"] == "state"


def test_an_unknown_confirm_key_is_refused(ingrid, testehr):
    assert _refusal(ingrid.get("/launch/bekreft/nope/"), "hører ikke til").data["refusal"] == "state"


def test_the_auditor_filters_the_log_for_launches(ingrid, testehr, helseid):
    from devdata.demo import SEEDER, seed_demo_grants

    confirm_url = through_ehr(ingrid, testehr.launch_location("p1"))["Location"]
    ingrid.post(confirm_url, {"reason": "Innlagt"})
    ingrid.post("/", {"national_id": KARI, "basis": "care", "reason": "Typed by hand"})
    seed_demo_grants(by=SEEDER)
    auditor = Client()
    idp_login(auditor, helseid, "jonas-strand")
    everything = auditor.get("/revisjon/", {"patient": KARI}).content.decode()
    assert "Typed by hand" in everything
    launched = auditor.get("/revisjon/", {"patient": KARI, "launch": "ehr"})
    page = launched.content.decode()
    assert launched.status_code == 200
    assert "Typed by hand" not in page
    assert "Startet fra Testjournal (Lovisenberg), kontakt Encounter/e1" in page
    assert auditor.get("/revisjon/", {"launch": "bogus"}).status_code == 400
