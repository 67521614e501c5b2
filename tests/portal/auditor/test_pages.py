"""The auditor's pages: who gets in, what each auditor sees, and that every page view is logged first."""

import csv
import datetime as dt
import io
import re

import pytest
from django.utils import timezone

from devdata import demo
from devdata.demo import seed_demo_grants
from sharing.audit import events
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor, Role
from tests.conftest import idp_login
from tests.sharing.audit.helpers import audit_writes_fail, clock

pytestmark = pytest.mark.django_db(transaction=True)

OSLO, BAERUM = "311111019", "315555019"
KARI, PER_OLSEN = "30875928763", "14904839826"
INGRID = Actor(
    sub="sub-ingrid",
    hpr_number="565501872",
    name="Ingrid Berg",
    orgnr_parent="312222019",
    org_parent_name="Lovisenberg Diakonale Sykehus",
    roles=frozenset({Role.CLINICIAN}),
)


@pytest.fixture
def roles(oslo):
    seed_demo_grants(by=demo.SEEDER)


def _read(patient=KARI, municipality=OSLO, basis="care", reason="Innlagt med tung pust", outcome="granted"):
    data = {"kinds": ["body_weight"], "count": 12} if outcome == "granted" else {"denial": "no-agreement"}
    return record_event(
        event=events.PATIENT_LOOKUP,
        outcome=outcome,
        by=INGRID,
        patient_system="urn:oid:2.16.578.1.12.4.1.4.1",
        patient_value=patient,
        basis=basis,
        reason=reason,
        data=data,
        municipalities=[municipality],
    )


def test_the_oslo_auditor_searches_oslos_log_and_the_search_is_logged(client, helseid, roles):
    _read()
    _read(patient=PER_OLSEN, municipality=BAERUM)
    idp_login(client, helseid, "jonas-strand")
    response = client.get("/revisjon/", {"patient": KARI})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Tilgangslogg" in page and "Oslo kommune" in page
    assert KARI in page and "Ingrid Berg" in page and "Innlagt med tung pust" in page
    assert PER_OLSEN not in page
    logged = AuditEvent.objects.get(event=events.AUDIT_SEARCH)
    assert (logged.actor_name, logged.patient_value, logged.municipalities) == ("Jonas Strand", KARI, OSLO)


def test_the_baerum_auditor_does_not_see_oslos_events(client, helseid, roles):
    _read()
    _read(patient=PER_OLSEN, municipality=BAERUM)
    idp_login(client, helseid, "tor-nes")
    page = client.get("/revisjon/").content.decode()
    assert PER_OLSEN in page and KARI not in page
    searched = client.get("/revisjon/", {"patient": KARI}).content.decode()
    assert "Ingen hendelser passer." in searched and "Ingrid Berg" not in searched


def test_the_service_auditor_sees_every_municipality(client, helseid, roles):
    _read()
    _read(patient=PER_OLSEN, municipality=BAERUM)
    idp_login(client, helseid, "leif-aas")
    page = client.get("/revisjon/").content.decode()
    assert KARI in page and PER_OLSEN in page and "Hele tjenesten" in page


@pytest.mark.parametrize("person", ["ingrid-berg", "astrid-holm"])
@pytest.mark.parametrize("path", ["/revisjon/", "/revisjon/gjennomgang/", "/revisjon/innsyn/"])
def test_no_one_else_gets_in(client, helseid, roles, person, path):
    _read()
    idp_login(client, helseid, person)
    response = client.get(path)
    assert response.status_code == 403
    assert KARI not in response.content.decode()


def test_anonymous_visitors_are_sent_to_login(client, oslo):
    response = client.get("/revisjon/")
    assert response.status_code == 302 and "/innlogging/" in response["Location"]


def test_the_header_links_to_the_log_for_auditors_only(client, helseid, roles):
    idp_login(client, helseid, "jonas-strand")
    assert 'href="/revisjon/"' in client.get("/revisjon/").content.decode()
    client.logout()
    idp_login(client, helseid, "ingrid-berg")
    assert 'href="/revisjon/"' not in client.get("/").content.decode()


def test_an_invalid_patient_number_is_a_form_error(client, helseid, roles):
    idp_login(client, helseid, "jonas-strand")
    response = client.get("/revisjon/", {"patient": "12345678901"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(event=events.AUDIT_SEARCH).exists()


def test_review_queue_and_marking_an_item_reviewed(client, helseid, roles):
    emergency = _read(basis="emergency", reason="Bevisstløs i akuttmottak")
    idp_login(client, helseid, "jonas-strand")
    page = client.get("/revisjon/gjennomgang/").content.decode()
    assert "Akuttilgang" in page and "Bevisstløs i akuttmottak" in page
    key = f"emergency:{emergency.pk}"
    response = client.post("/revisjon/gjennomgang/merk/", {"key": key, "comment": "Begrunnet: akuttinnleggelse."})
    assert response.status_code == 302
    mark = AuditEvent.objects.get(event=events.AUDIT_REVIEW)
    assert (mark.actor_name, mark.data["item"], mark.reason) == ("Jonas Strand", key, "Begrunnet: akuttinnleggelse.")
    assert mark.municipalities == OSLO
    page = client.get("/revisjon/gjennomgang/").content.decode()
    assert "Begrunnet: akuttinnleggelse." in page and "Gjennomgått" in page
    assert AuditEvent.objects.filter(event=events.AUDIT_REVIEW_QUEUE).count() == 2


def test_an_item_of_another_municipality_cannot_be_marked(client, helseid, roles):
    baerum = _read(basis="emergency", municipality=BAERUM)
    idp_login(client, helseid, "jonas-strand")
    response = client.post("/revisjon/gjennomgang/merk/", {"key": f"emergency:{baerum.pk}", "comment": "ok"})
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(event=events.AUDIT_REVIEW).exists()


def test_patient_report_is_worded_for_the_patient(client, helseid, roles, patient_data):
    _read()
    _read(outcome="denied")
    idp_login(client, helseid, "jonas-strand")
    response = client.post("/revisjon/innsyn/", {"patient": patient_data, "format": "html"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hvem har sett hjemmemålingene dine" in page
    assert "Kari Nordmann" in page and "Ingrid Berg" in page and "Lovisenberg Diakonale Sykehus" in page
    assert "Fikk tilgang" in page and "Ble nektet tilgang" in page
    made = AuditEvent.objects.get(event=events.AUDIT_PATIENT_REPORT)
    assert (made.patient_value, made.data["format"], made.data["count"]) == (patient_data, "html", 2)


def test_patient_report_as_csv(client, helseid, roles):
    _read(reason='=HYPERLINK("http://evil")')
    idp_login(client, helseid, "jonas-strand")
    response = client.post("/revisjon/innsyn/", {"patient": KARI, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    header, row = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert header[:3] == ["Tidspunkt", "Hvem", "Rolle"]
    assert row[1:4] == ["Ingrid Berg", "Helsepersonell", "Lovisenberg Diakonale Sykehus"]
    assert row[6].startswith("'=")  # a formula someone typed is shown, never run
    assert AuditEvent.objects.get(event=events.AUDIT_PATIENT_REPORT).data["format"] == "csv"


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/revisjon/", {"patient": KARI}),
        ("get", "/revisjon/gjennomgang/", {}),
        ("post", "/revisjon/innsyn/", {"patient": KARI, "format": "html"}),
        ("post", "/revisjon/innsyn/", {"patient": KARI, "format": "csv"}),
    ],
)
def test_when_the_log_cannot_record_the_view_nothing_is_shown(client, helseid, roles, method, path, data):
    _read(basis="emergency")
    idp_login(client, helseid, "jonas-strand")
    with audit_writes_fail():
        response = getattr(client, method)(path, data)
    assert response.status_code == 503
    page = response.content.decode()
    assert "Ingrid Berg" not in page and "Innlagt" not in page


def _normalised(page: str, patient: str) -> str:
    """The page without what differs between any two requests: the number asked about, the CSRF
    token, the clock."""
    page = page.replace(patient, "NUMBER")
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return re.sub(r"\d{1,2}[.:]\d{2}", "TIME", page)


def test_the_patient_report_names_no_patient_outside_the_auditors_municipality(client, helseid, roles, patient_data):
    """A Bærum auditor asking about an Oslo-only patient learns nothing: not the name, not that
    the patient exists. The record of the question is about Oslo too, so Oslo sees it."""
    idp_login(client, helseid, "tor-nes")
    known = client.post("/revisjon/innsyn/", {"patient": patient_data, "format": "html"})
    unknown = client.post("/revisjon/innsyn/", {"patient": PER_OLSEN, "format": "html"})
    assert known.status_code == unknown.status_code == 200
    assert "Kari" not in known.content.decode() and "Nordmann" not in known.content.decode()
    assert _normalised(known.content.decode(), patient_data) == _normalised(unknown.content.decode(), PER_OLSEN)
    csv_known = client.post("/revisjon/innsyn/", {"patient": patient_data, "format": "csv"}).content.decode()
    assert "Kari" not in csv_known
    made = AuditEvent.objects.filter(event=events.AUDIT_PATIENT_REPORT, patient_value=patient_data)
    assert {record.municipalities for record in made} == {f"{OSLO} {BAERUM}"}
    assert AuditEvent.objects.get(event=events.AUDIT_PATIENT_REPORT, patient_value=PER_OLSEN).municipalities == BAERUM


def test_the_patient_report_names_the_patient_for_the_municipality_holding_the_data(
    client, helseid, roles, patient_data
):
    idp_login(client, helseid, "jonas-strand")
    page = client.post("/revisjon/innsyn/", {"patient": patient_data, "format": "html"}).content.decode()
    assert "Kari Nordmann" in page


def test_the_logs_filters_are_a_link_the_auditor_can_bookmark(client, helseid, roles):
    _read()
    _read(patient=PER_OLSEN)
    idp_login(client, helseid, "jonas-strand")
    linked = client.get("/revisjon/", {"patient": KARI, "start": "01.01.2020"}).content.decode()
    assert KARI in linked and PER_OLSEN not in linked
    assert 'value="01.01.2020"' in linked  # the day as it was typed, dd.mm.åååå
    posted = client.post("/revisjon/", {"patient": KARI})
    assert posted.status_code == 302 and posted["Location"] == f"/revisjon/?patient={KARI}"


def test_the_log_names_a_patient_only_where_the_auditors_municipality_holds_data(client, helseid, roles, patient_data):
    _read(patient=patient_data)  # Kari Nordmann: Oslo holds her measurements, Bærum nothing
    _read(patient=patient_data, municipality=BAERUM)
    idp_login(client, helseid, "jonas-strand")
    assert "Kari Nordmann" in client.get("/revisjon/").content.decode()
    client.logout()
    idp_login(client, helseid, "tor-nes")
    baerum = client.get("/revisjon/").content.decode()
    assert patient_data in baerum and "Kari Nordmann" not in baerum


def test_the_log_groups_views_and_names_what_each_change_changed(client, helseid, roles):
    for _ in range(3):
        record_event(
            event=events.PATIENT_VIEW,
            outcome="granted",
            by=INGRID,
            patient_system="urn:oid:2.16.578.1.12.4.1.4.1",
            patient_value=KARI,
            basis="care",
            reason="Innlagt",
            data={"kinds": ["body_weight"], "count": 12},
            municipalities=[OSLO],
        )
    idp_login(client, helseid, "jonas-strand")
    page = client.get("/revisjon/", {"event": "patient.view"}).content.decode()
    assert page.count("<tr>") - 1 == 1 and "× 3" in page  # the header row and one line
    changes = client.get("/revisjon/").content.decode()
    # The parties by name, not by organisation number (issue 22).
    assert re.search(r"Avtale \d+ \(versjon \d+\): Oslo kommune → Lovisenberg Diakonale Sykehus", changes)
    assert "311111019 → 312222019" not in changes
    # Whose role, by the name HelseID gave before the grant (none yet here: the grant came before
    # Jonas Strand's first login) and a masked number.
    assert re.search(r"Revisor for ikke logget inn ennå \(\d{6} \*\*\*\*\*\)", changes)


def test_an_agreement_change_logged_before_names_were_kept_is_named_from_the_register(client, helseid, roles):
    record_event(
        event=events.Event.AGREEMENT_ACTIVATE,
        outcome="success",
        by=INGRID,
        data={"agreement": 4711, "version": 2, "controller": OSLO, "consumer": "312222019"},
    )
    idp_login(client, helseid, "jonas-strand")
    page = client.get("/revisjon/").content.decode()
    assert "Avtale 4711 (versjon 2): Oslo kommune → Lovisenberg Diakonale Sykehus" in page


def _emergency(event, outcome="granted", patient=KARI):
    data = {"kinds": ["body_weight"], "count": 12} if outcome == "granted" else {"denial": "no-agreement"}
    record_event(
        event=event,
        outcome=outcome,
        by=INGRID,
        patient_system="urn:oid:2.16.578.1.12.4.1.4.1",
        patient_value=patient,
        basis="emergency",
        reason="Bevisstløs i akuttmottak",
        data=data,
        municipalities=[OSLO],
    )


def test_the_queue_has_one_case_per_emergency_episode_and_says_when_it_was_denied(client, helseid, roles, settings):
    # Its records are written at the wall clock: no night window, or a run at night adds a night case.
    settings.AUDIT_REVIEW_NIGHT_START_HOUR = settings.AUDIT_REVIEW_NIGHT_END_HOUR = 0
    _emergency(events.PATIENT_LOOKUP)
    _emergency(events.PATIENT_VIEW)
    _emergency(events.PATIENT_VIEW)
    _emergency(events.PATIENT_LOOKUP, outcome="denied", patient=PER_OLSEN)
    idp_login(client, helseid, "jonas-strand")
    page = client.get("/revisjon/gjennomgang/").content.decode()
    assert page.count('class="card review-item') == 2
    assert "3 hendelser" in page
    assert "Akuttilgang – nektet" in page
    assert 'href="/revisjon/?user=565501872&amp;start=' in page  # the events, as a link


def test_the_log_opens_on_the_last_30_days_and_the_period_stays_in_the_url(client, helseid, roles):
    today = timezone.localdate()
    for days_ago, reason in ((40, "Gammel kontroll"), (2, "Ny kontroll")):
        with clock(timezone.now() - dt.timedelta(days=days_ago)):
            record_event(
                event=events.PATIENT_LOOKUP,
                outcome="granted",
                by=INGRID,
                patient_system="urn:oid:2.16.578.1.12.4.1.4.1",
                patient_value=KARI,
                basis="care",
                reason=reason,
                data={"kinds": ["body_weight"], "count": 12},
                municipalities=[OSLO],
            )
    idp_login(client, helseid, "jonas-strand")
    opened = client.get("/revisjon/").content.decode()
    start = (today - dt.timedelta(days=30)).strftime("%d.%m.%Y")
    assert f'name="start" value="{start}"' in opened  # the default is shown in the field
    assert "Ny kontroll" in opened and "Gammel kontroll" not in opened
    # The period is the URL's: an empty from-date is everything, a given one is kept as given.
    everything = client.get("/revisjon/", {"start": "", "patient": KARI}).content.decode()
    assert "Ny kontroll" in everything and "Gammel kontroll" in everything
    chosen = client.get("/revisjon/", {"start": (today - dt.timedelta(days=45)).strftime("%d.%m.%Y")})
    assert "Gammel kontroll" in chosen.content.decode()
    assert (
        "Ny kontroll"
        not in client.get("/revisjon/", {"end": (today - dt.timedelta(days=35)).isoformat()}).content.decode()
    )
