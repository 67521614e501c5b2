"""The auditor's day: search the log, work the review queue, make a patient's access report."""

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from devdata import demo
from devdata.demo import seed_demo_grants
from sharing.audit import events
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor, Role
from tests import actors
from tests.browser.conftest import SCREENSHOTS
from tests.sharing.audit.helpers import clock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TZ = ZoneInfo("Europe/Oslo")
KARI, PER_OLSEN, AUD = "30875928763", "14904839826", "02923712995"
SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
INGRID = actors.INGRID_AT_LOVISENBERG
OLA = Actor(
    sub="sub-ola",
    hpr_number="565502011",
    name="Ola Hansen",
    orgnr_parent="313333019",
    org_parent_name="Sagene legesenter",
    roles=frozenset({Role.CLINICIAN}),
    client_id="maaledata-portal",
)
PER = Actor(
    sub="sub-per",
    hpr_number="565503020",
    name="Per Dahl",
    orgnr_parent="314444019",
    org_parent_name="Fjordvik sykehus",
    roles=frozenset({Role.CLINICIAN}),
    client_id="maaledata-portal",
)


@pytest.fixture
def browser_context_args(browser_context_args):
    """A Norwegian browser, as the auditors have: dates in the filters read dd.mm.åååå."""
    return {**browser_context_args, "locale": "nb-NO", "timezone_id": "Europe/Oslo"}


SEEN = {"kinds": ["body_weight", "blood_pressure", "heart_rate"], "count": 84}


def _at(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(timezone.localdate() - dt.timedelta(days=days_ago), dt.time(hour, minute), tzinfo=TZ)


def _log(at, by, event, patient, outcome="granted", basis="care", reason="Innlagt med tung pust", data=None):
    if data is None:
        data = {**SEEN, "period": [_at(90, 8).isoformat(), _at(1, 8).isoformat()]} if outcome == "granted" else {}
    with clock(at):
        record_event(
            event=event,
            outcome=outcome,
            by=by,
            patient_system=SYSTEM,
            patient_value=patient,
            basis=basis,
            reason=reason,
            data=data if outcome == "granted" else {"denial": "no-agreement"},
            municipalities=[demo.OSLO],
        )


def _a_month_of_log():
    _log(_at(6, 9, 12), INGRID, events.PATIENT_LOOKUP, KARI)
    _log(_at(6, 9, 13), INGRID, events.PATIENT_VIEW, KARI)
    _log(_at(5, 14, 2), OLA, events.PATIENT_LOOKUP, KARI, reason="Kontroll etter innleggelse")
    _log(_at(5, 14, 4), OLA, events.PATIENT_EXPORT, KARI, reason="Kontroll etter innleggelse")
    _log(_at(3, 2, 41), INGRID, events.PATIENT_LOOKUP, PER_OLSEN, basis="emergency", reason="Bevisstløs i akuttmottak")
    for minute, patient in ((10, KARI), (12, PER_OLSEN), (15, AUD)):
        _log(_at(2, 11, minute), PER, events.PATIENT_LOOKUP, patient, outcome="denied")
    _log(_at(1, 10, 30), INGRID, events.PATIENT_VIEW, KARI)


def test_auditor_workspace_review_queue_and_patient_report(page, live_server, helseid, patient_data, screenshot):
    seed_demo_grants(by=demo.SEEDER)
    _a_month_of_log()

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_server.url + "/oidc/authenticate/")
    page.get_by_role("button", name="Jonas Strand").click()
    page.get_by_role("link", name="Tilgangslogg").click()
    expect(page.get_by_role("heading", name="Søk i tilgangsloggen")).to_be_visible()
    page.get_by_label("Pasient", exact=True).fill(KARI)
    page.get_by_role("button", name="Søk", exact=True).click()
    expect(page.locator("table.audit-table tbody tr")).to_have_count(6)
    expect(page.locator("table.audit-table")).to_contain_text("Ola Hansen")
    screenshot("auditor-01-workspace")

    page.get_by_role("link", name="Gjennomgang").click()
    expect(page.get_by_role("heading", name="Akuttilgang")).to_be_visible()
    expect(page.get_by_role("heading", name="Flere avviste oppslag på kort tid")).to_be_visible()
    expect(page.get_by_role("heading", name="Oppslag om natten")).to_be_visible()
    screenshot("auditor-02-review-queue")
    emergency = page.locator("article.review-item", has=page.get_by_role("heading", name="Akuttilgang"))
    emergency.get_by_role("checkbox").check()
    page.get_by_label("Kommentar").fill("Sjekket med akuttmottaket: pasienten var bevisstløs. Begrunnet.")
    page.get_by_role("button", name="Merk valgte som gjennomgått").click()
    expect(page.get_by_role("status")).to_contain_text("1 sak merket som gjennomgått")
    screenshot("auditor-03-review-marked")
    assert AuditEvent.objects.filter(event=events.AUDIT_REVIEW, actor_name="Jonas Strand").count() == 1

    page.get_by_role("link", name="Innsyn for pasient").click()
    page.get_by_label("Pasientens fødselsnummer").fill(KARI)
    page.get_by_role("button", name="Lag rapporten").click()
    expect(page.get_by_role("heading", name="Hvem har sett hjemmemålingene dine")).to_be_visible()
    expect(page.locator("table.patient-report__table tbody tr")).to_have_count(6)
    screenshot("auditor-04-patient-report")
    page.emulate_media(media="print")
    screenshot("auditor-05-patient-report-print")
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("button", name="Last ned CSV").click()
    assert download.value.suggested_filename.startswith("tilgangslogg-")
    assert AuditEvent.objects.filter(event=events.AUDIT_PATIENT_REPORT).count() == 2


SARA_COLLEAGUE = "09899012469"  # Nina Lund, a member of Lovisenberg (devdata/demo.py MEMBERS)


def _lovisenberg_month():
    """Lovisenberg's staff in Oslo and Bærum, and Fjordvik's in Oslo (not the privacy officer's)."""
    ingrid = dataclasses.replace(INGRID, pid="12837826592")
    _a_month_of_log()
    _log(_at(4, 13, 5), ingrid, events.PATIENT_LOOKUP, "12837826592", reason="Sjekker egne målinger")
    _log(_at(4, 13, 20), ingrid, events.PATIENT_LOOKUP, SARA_COLLEAGUE, reason="Nysgjerrig")
    with clock(_at(2, 9, 0)):
        record_event(
            event=events.PATIENT_LOOKUP,
            outcome="granted",
            by=ingrid,
            patient_value=AUD,
            basis="care",
            reason="Innlagt",
            data=SEEN,
            municipalities=[demo.BAERUM],
        )


def test_the_privacy_officer_works_her_own_staffs_queue(page, live_server, helseid, patient_data, screenshot, settings):
    """Sara Lunde, Lovisenberg's privacy officer: lands on the log of her staff in every
    municipality, filters the queue, and signs off two cases with one comment."""
    settings.AUDIT_REVIEW_SAMPLE_PER_MONTH = 1
    seed_demo_grants(by=demo.SEEDER)
    _lovisenberg_month()
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(live_server.url + "/oidc/authenticate/")
    page.get_by_role("button", name="Sara Lunde").click()
    expect(page.get_by_role("heading", name="Søk i tilgangsloggen")).to_be_visible()
    expect(page.get_by_text("egne ansattes oppslag i alle kommuner")).to_be_visible()
    table = page.locator("table.audit-table")
    expect(table).to_contain_text("Ingrid Berg")
    expect(table).to_contain_text(AUD)  # a Bærum lookup by her staff
    expect(table).not_to_contain_text("Per Dahl")  # Fjordvik's staff
    expect(table).not_to_contain_text("Ola Hansen")  # Sagene's staff
    screenshot("org-auditor-01-log-1440")

    page.get_by_role("link", name="Gjennomgang").click()
    for heading in ("Slo opp seg selv", "Slo opp en kollega", "Akuttilgang", "Oppslag om natten"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("heading", name="Månedens stikkprøve").first).to_be_visible()
    expect(page.get_by_role("heading", name="Flere avviste oppslag på kort tid")).to_have_count(0)  # Per's
    screenshot("org-auditor-02-queue-1440")

    page.get_by_label("Regel").select_option(label="Slo opp en kollega")
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(
        f"{live_server.url}/revisjon/gjennomgang/?rule=colleague&person=&organisation=&start=&end=&status="
    )
    expect(page.locator("article.review-item")).to_have_count(1)
    page.get_by_role("link", name="Nullstill filtre").click()
    for heading in ("Slo opp seg selv", "Slo opp en kollega"):
        page.locator("article.review-item", has=page.get_by_role("heading", name=heading)).get_by_role(
            "checkbox"
        ).check()
    page.get_by_label("Kommentar").fill("Snakket med Ingrid Berg og lederen hennes: ikke tjenstlig behov. Avvik meldt.")
    page.get_by_role("button", name="Merk valgte som gjennomgått").click()
    expect(page.get_by_role("status")).to_contain_text("2 saker merket som gjennomgått")
    marks = AuditEvent.objects.filter(event=events.AUDIT_REVIEW, actor_name="Sara Lunde")
    assert marks.count() == 2 and {m.data["batch_size"] for m in marks} == {2}
    screenshot("org-auditor-03-signed-off-1440")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/revisjon/gjennomgang/?status=open")
    expect(page.locator("article.review-item--done")).to_have_count(0)
    screenshot("org-auditor-04-queue-390")
    page.goto(live_server.url + "/revisjon/")
    screenshot("org-auditor-05-log-390")


# Every element of the log table inside the card's content box, and no cell whose content is wider
# than the cell (clipped): [the offenders], empty when the table fits.
FITS = """() => {
  const card = document.querySelector("table.audit-table").closest(".card");
  const box = card.getBoundingClientRect();
  const style = getComputedStyle(card);
  const right = box.right - parseFloat(style.paddingRight) + 1;
  const left = box.left + parseFloat(style.paddingLeft) - 1;
  const problems = [];
  const table = document.querySelector("table.audit-table");
  const end = table.getBoundingClientRect().right;
  if (end > right) problems.push(`table ends at ${end}, card at ${right}`);
  const scroller = table.closest(".table-scroll");
  if (scroller && scroller.scrollWidth > scroller.clientWidth + 1) {
    problems.push(`scrolls: ${scroller.scrollWidth} > ${scroller.clientWidth}`);
  }
  for (const cell of table.querySelectorAll("th, td")) {
    const r = cell.getBoundingClientRect();
    if (r.width === 0) continue;
    const text = cell.textContent.trim().slice(0, 40);
    if (r.right > right || r.left < left) problems.push(`cell outside the card: ${text}`);
    if (cell.scrollWidth > cell.clientWidth + 1) problems.push(`clipped: ${text}`);
  }
  return problems;
}"""
LONG = Actor(
    sub="sub-long",
    hpr_number="565504029",
    name="Anne-Margrethe Kristiansen-Søndergaard Østby",
    orgnr_parent="312222019",
    org_parent_name="Lovisenberg Diakonale Sykehus",
    roles=frozenset({Role.CLINICIAN}),
    client_id="epj-lovisenberg-dips-arena-produksjon-klient-0123456789abcdef",
    request_id="req-0f6c1d2e-8b7a-4c3d-9e1f-2a3b4c5d6e7f-ffffffffffffffffffff",
)


@pytest.mark.parametrize("width", [390, 1280, 1440, 1920])
def test_the_log_table_is_never_wider_than_its_card(page, live_server, helseid, patient_data, screenshot, width):
    seed_demo_grants(by=demo.SEEDER)
    _a_month_of_log()
    _log(
        _at(1, 12, 5),
        LONG,
        events.PATIENT_LOOKUP,
        KARI,
        basis="emergency",
        reason="Bevisstløs_ved_ankomst_akuttmottak_uten_pårørende_tilgjengelig_og_ingen_journal" * 2,
    )
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + "/oidc/authenticate/")
    page.get_by_role("button", name="Jonas Strand").click()
    page.goto(live_server.url + "/revisjon/")
    rows = page.locator("table.audit-table tbody tr")
    expect(rows.first).to_be_visible()
    assert page.evaluate(FITS) == []
    screenshot(f"auditor-log-fits-{width}")
    # With every row's details open too.
    for summary in page.locator("table.audit-table summary").all():
        summary.click()
    assert page.evaluate(FITS) == []
    expect(page.get_by_text(LONG.client_id, exact=False).first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / f"auditor-log-fits-{width}-details.png"))  # the first screenful
