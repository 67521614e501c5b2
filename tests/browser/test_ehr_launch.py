"""Opening a patient from the hospital record (SMART on FHIR EHR launch) in Chromium: the test
EHR's patient list (testehr/), one button per patient, in a new window and embedded in the EHR's
own page; the access log shows the launch; refusals. Screenshots at 1440 and 390 px."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from devdata.demo import SEEDER, seed_demo_grants
from sharing.audit.models import AuditEvent
from sharing.core.events import Event
from tests.conftest import TESTEHR_CLIENT, loopback, run_testehr
from tests.portal.clinician.factories import KARI, seed_year

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE, NARROW = {"width": 1440, "height": 900}, {"width": 390, "height": 844}
REASON = "Innlagt med tung pust og vektøkning, hjertesvikt"


@pytest.fixture
def kari(oslo):
    seed_year()
    return KARI


def _open_from_the_list(page: Page, ehr_origin: str, patient: str) -> Page:
    """Click "Åpne hjemmemålinger" in the EHR's list for `patient`; returns the new window."""
    page.goto(ehr_origin + "/")
    row = page.get_by_role("row").filter(has_text=patient)
    with page.context.expect_page() as opened:
        row.get_by_role("link", name="Åpne hjemmemålinger").click()
    window = opened.value
    window.set_viewport_size(WIDE)
    return window


def _log_in(page: Page, live_server, person: str = "Ingrid Berg", landing: str = "Finn pasient") -> None:
    """Log in to the portal where the test EHR opens it (on 127.0.0.1, see tests/conftest.py)."""
    page.goto(loopback(live_server.url) + "/")
    page.get_by_role("link", name="Logg inn med HelseID").click()
    page.get_by_role("button", name=person).click()
    expect(page.get_by_role("heading", name=landing)).to_be_visible()


def test_one_click_in_the_ehr_opens_karis_overview_in_a_new_window(page, live_server, helseid, testehr, kari):
    page.set_viewport_size(WIDE)
    page.goto(testehr.origin + "/")
    expect(page.get_by_role("table", name="Mine pasienter")).to_be_visible()
    page.screenshot(path=_shot("ehr-launch-01-ehr-list"), full_page=True)
    window = _open_from_the_list(page, testehr.origin, "Kari Nordmann")
    # No portal login yet: HelseID's page (devidp), then straight to the confirm page.
    window.get_by_role("button", name="Ingrid Berg").click()
    expect(window.get_by_role("heading", name="Åpne pasient fra pasientjournalen")).to_be_visible()
    expect(window.get_by_text("Kari Nordmann")).to_be_visible()
    expect(window.get_by_text("Behandlingsrelasjon", exact=False)).to_be_visible()
    expect(window.get_by_label("Begrunnelse")).to_have_value(REASON)
    window.screenshot(path=_shot("ehr-launch-02-confirm"), full_page=True)
    window.set_viewport_size(NARROW)
    window.screenshot(path=_shot("ehr-launch-02-confirm-390"), full_page=True)
    window.set_viewport_size(WIDE)
    window.get_by_role("button", name="Åpne hjemmemålingene").click()
    expect(window.get_by_role("heading", name="Kari Nordmann")).to_be_visible()
    window.screenshot(path=_shot("ehr-launch-03-overview"), full_page=True)
    lookup = AuditEvent.objects.get(event=Event.PATIENT_LOOKUP)
    assert (lookup.outcome, lookup.patient_value, lookup.basis, lookup.reason) == ("granted", KARI, "care", REASON)
    assert lookup.data["launch"]["encounter"] == "Encounter/e1"

    # The next patient from the list: the portal's session is alive, no login is asked for.
    window = _open_from_the_list(page, testehr.origin, "Per Olsen")
    expect(window.get_by_role("heading", name="Åpne pasient fra pasientjournalen")).to_be_visible()
    expect(window.get_by_text("Per Olsen")).to_be_visible()
    assert AuditEvent.objects.filter(event=Event.USER_LOGIN).count() == 1

    # The access log shows the launch and the encounter, and filters by it.
    seed_demo_grants(by=SEEDER)
    auditor = page.context.browser.new_context(viewport=WIDE)
    log = auditor.new_page()
    _log_in(log, live_server, "Jonas Strand", landing="Søk i tilgangsloggen")
    log.goto(loopback(live_server.url) + "/revisjon/")
    log.get_by_label("Startet fra").select_option(label="Pasientjournalen")
    log.get_by_role("button", name="Søk").click()
    expect(log.get_by_text("Startet fra Testjournal (Lovisenberg), kontakt Encounter/e1").first).to_be_visible()
    log.screenshot(path=_shot("ehr-launch-04-log"), full_page=True)
    log.set_viewport_size(NARROW)
    log.screenshot(path=_shot("ehr-launch-04-log-390"), full_page=True)
    auditor.close()


def test_embedded_in_the_ehrs_page(page, live_server, helseid, testehr, kari, settings):
    """The EHR's patient page (http://127.0.0.1:E) frames the portal (http://127.0.0.1:P): another
    origin, so frame-ancestors must name it, but the same site, so the frame's partitioned cookies
    are those of the portal's own window there, and its login is the window's (another site's
    frame: the test below)."""
    settings.EHR_FRAME_ORIGINS = [testehr.origin]
    settings.SESSION_COOKIE_SAMESITE = settings.CSRF_COOKIE_SAMESITE = "None"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    page.set_viewport_size(WIDE)
    _log_in(page, live_server)  # HelseID (devidp) is never framed: the person is logged in already
    page.goto(testehr.origin + "/")
    page.get_by_role("row").filter(has_text="Kari Nordmann").get_by_role("link", name="Vis i journalen").click()
    frame = page.frame_locator("iframe[title='Hjemmemålinger']")
    expect(frame.get_by_role("heading", name="Åpne pasient fra pasientjournalen")).to_be_visible()
    expect(frame.get_by_label("Begrunnelse")).to_have_value(REASON)
    frame.get_by_role("button", name="Åpne hjemmemålingene").click()
    expect(frame.get_by_role("heading", name="Kari Nordmann")).to_be_visible()
    page.screenshot(path=_shot("ehr-launch-05-embedded"), full_page=True)
    page.set_viewport_size(NARROW)
    page.screenshot(path=_shot("ehr-launch-05-embedded-390"), full_page=True)
    lookup = AuditEvent.objects.get(event=Event.PATIENT_LOOKUP)
    assert lookup.outcome == "granted" and lookup.data["launch"]["encounter"] == "Encounter/e1"


@pytest.fixture
def other_site_ehr(live_server, tmp_path, settings):
    """A test EHR on another site than the portal (its page on 127.0.0.1, the portal on
    localhost), as a hospital's EHR and the portal are: in its frame the portal is a third party."""
    with run_testehr(live_server.url, tmp_path / "testehr.log") as ehr:
        settings.SMART_EHRS = json.dumps([{"iss": ehr.iss, "name": "Testjournal (Lovisenberg)", **TESTEHR_CLIENT}])
        settings.EHR_FRAME_ORIGINS = [ehr.origin]
        settings.SESSION_COOKIE_SAMESITE = settings.CSRF_COOKIE_SAMESITE = "None"
        settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
        yield ehr


def test_embedded_on_another_site_the_frame_keeps_a_session_and_takes_the_windows_login(
    page, live_server, helseid, other_site_ehr, kari
):
    """This Chromium keeps no third-party cookies: only the portal's Partitioned ones survive in the
    EHR's frame (without them the launch is lost at its callback). The frame's cookie jar is its
    own, so the person logs in in a window of their own, which hands its login to the frame."""
    page.set_viewport_size(WIDE)
    page.goto(other_site_ehr.origin + "/pasient/p1")
    frame = page.frame_locator("iframe[title='Hjemmemålinger']")
    expect(frame.get_by_role("heading", name="Logg inn for å åpne pasienten")).to_be_visible()
    page.screenshot(path=_shot("ehr-launch-09-frame-log-in"), full_page=True)
    with page.context.expect_page() as opened:
        frame.get_by_role("link", name="Logg inn med HelseID i nytt vindu").click()
    window = opened.value
    # Logged in, it hands its login to the frame and closes. The waiter is set before the click:
    # the window may close before a wait begun after the click would see it.
    with window.expect_event("close"):
        window.get_by_role("button", name="Ingrid Berg").click()
    expect(frame.get_by_role("heading", name="Åpne pasient fra pasientjournalen")).to_be_visible()
    expect(frame.get_by_label("Begrunnelse")).to_have_value(REASON)
    # Sent with the keyboard: once the login window has closed itself, this headless Chromium
    # routes no mouse click into the cross-site frame (with the window left open, it does).
    frame.get_by_label("Begrunnelse").press("Enter")
    expect(frame.get_by_role("heading", name="Kari Nordmann")).to_be_visible()
    page.screenshot(path=_shot("ehr-launch-10-frame-other-site"), full_page=True)
    lookup = AuditEvent.objects.get(event=Event.PATIENT_LOOKUP)
    assert (lookup.outcome, lookup.actor_name) == ("granted", "Ingrid Berg")
    assert lookup.data["launch"]["encounter"] == "Encounter/e1"

    # The next patient in the same EHR page's frame: the frame's session is logged in now.
    page.goto(other_site_ehr.origin + "/pasient/p2")
    expect(frame.get_by_role("heading", name="Åpne pasient fra pasientjournalen")).to_be_visible()
    expect(frame.get_by_text("Per Olsen")).to_be_visible()


def test_no_other_site_may_frame_the_portal(page, live_server, helseid, testehr, kari):
    """Without EHR_FRAME_ORIGINS the EHR's embedded view stays empty: the portal refuses the frame."""
    _log_in(page, live_server)
    page.goto(testehr.origin + "/pasient/p1")
    frame = page.frame_locator("iframe[title='Hjemmemålinger']")
    expect(frame.get_by_role("heading", name="Åpne pasient fra pasientjournalen")).to_have_count(0)
    assert not AuditEvent.objects.filter(event=Event.PATIENT_LOOKUP).exists()


def test_a_patient_outside_the_agreement_is_refused_and_logged(page, live_server, helseid, testehr, kari):
    _log_in(page, live_server)
    window = _open_from_the_list(page, testehr.origin, "Nils Utenfor")
    window.get_by_role("button", name="Åpne hjemmemålingene").click()
    expect(window.get_by_role("heading", name="Ingen tilgang")).to_be_visible()
    window.screenshot(path=_shot("ehr-launch-06-denied"), full_page=True)
    lookup = AuditEvent.objects.get(event=Event.PATIENT_LOOKUP)
    assert lookup.outcome == "denied" and lookup.data["launch"]["encounter"] == "Encounter/e4"


def test_another_person_logged_in_to_the_ehr_is_refused(page, live_server, helseid, testehr, kari):
    """Knut Rud is logged in to the EHR, Ingrid Berg to the portal: the launch names Knut Rud's
    Practitioner (fødselsnummer), so nothing is opened and the refusal is logged."""
    page.set_viewport_size(WIDE)
    _log_in(page, live_server)
    page.goto(testehr.origin + "/")
    page.get_by_role("link", name="Bytt bruker").click()
    page.get_by_role("button", name="Knut Rud").click()
    expect(page.get_by_text("Innlogget: Knut Rud")).to_be_visible()
    window = _open_from_the_list(page, testehr.origin, "Kari Nordmann")
    expect(window.get_by_role("heading", name="Oppstart fra pasientjournalen avvist")).to_be_visible()
    expect(window.get_by_text("som en annen person enn i Måledata")).to_be_visible()
    expect(window.get_by_text("Kari Nordmann")).to_have_count(0)
    window.screenshot(path=_shot("ehr-launch-08-other-person"), full_page=True)
    refusal = AuditEvent.objects.get(event=Event.LAUNCH_REFUSED)
    assert refusal.data["refusal"] == "user-mismatch" and refusal.data["launch"]["user"] == "Practitioner/knut-rud"
    assert not AuditEvent.objects.filter(event=Event.PATIENT_LOOKUP).exists()


def test_forged_replayed_and_foreign_launches_are_refused(page, live_server, helseid, testehr, kari):
    page.set_viewport_size(WIDE)
    _log_in(page, live_server)
    launch = testehr.launch_location("p1")
    page.goto(launch)
    expect(page.get_by_role("heading", name="Åpne pasient fra pasientjournalen")).to_be_visible()
    page.goto(launch)  # the same launch again
    expect(page.get_by_role("heading", name="Oppstart fra pasientjournalen avvist")).to_be_visible()
    expect(page.get_by_text("allerede brukt")).to_be_visible()
    page.screenshot(path=_shot("ehr-launch-07-refused"), full_page=True)
    page.set_viewport_size(NARROW)
    page.screenshot(path=_shot("ehr-launch-07-refused-390"), full_page=True)
    page.goto(testehr.launch_location("p1").replace("launch=", "launch=x"))  # forged
    expect(page.get_by_text("allerede brukt")).to_be_visible()
    page.goto(testehr.launch_location("p1").replace("127.0.0.1", "localhost"))  # iss not registered
    expect(page.get_by_text("ikke registrert hos oss")).to_be_visible()
    refusals = list(AuditEvent.objects.filter(event=Event.LAUNCH_REFUSED).order_by("occurred_at"))
    assert [r.data["refusal"] for r in refusals] == ["launch-refused", "launch-refused", "unknown-ehr"]
    assert AuditEvent.objects.filter(event=Event.PATIENT_LOOKUP).count() == 0


def _shot(name: str) -> str:
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")
