"""The privacy officer's pages (issue 16) and the worklist's filters and bulk sign-off (issue 22),
through a real devidp login."""

import pytest

from devdata import demo
from devdata.demo import seed_demo_grants
from sharing.audit import events
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor, Role
from tests.conftest import idp_login

pytestmark = pytest.mark.django_db(transaction=True)

OSLO, BAERUM = demo.OSLO, demo.BAERUM
KARI, PER_OLSEN = "30875928763", "14904839826"
INGRID = Actor(
    sub="sub-ingrid",
    pid="12837826592",
    hpr_number="565501872",
    name="Ingrid Berg",
    orgnr_parent=demo.LOVISENBERG,
    org_parent_name="Lovisenberg Diakonale Sykehus",
    roles=frozenset({Role.CLINICIAN}),
)
PER = Actor(
    sub="sub-per",
    hpr_number="565503020",
    name="Per Dahl",
    orgnr_parent=demo.FJORDVIK,
    org_parent_name="Fjordvik sykehus",
)


@pytest.fixture
def roles(oslo, settings):
    settings.AUDIT_REVIEW_SAMPLE_PER_MONTH = 0  # the sample has its own tests; here it would add items
    seed_demo_grants(by=demo.SEEDER)


def _read(*, by=INGRID, patient=KARI, municipality=OSLO, basis="care"):
    return record_event(
        event=events.PATIENT_LOOKUP,
        outcome="granted",
        by=by,
        patient_value=patient,
        basis=basis,
        reason="Bevisstløs" if basis == "emergency" else "Innlagt",
        data={"count": 3},
        municipalities=[municipality],
    )


def test_the_privacy_officer_lands_on_the_log_of_her_own_staff_in_every_municipality(client, helseid, roles):
    _read()
    _read(patient=PER_OLSEN, municipality=BAERUM)
    _read(by=PER, patient="02923712995")
    idp_login(client, helseid, "sara-lunde")
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/revisjon/"
    page = client.get("/revisjon/").content.decode()
    assert "Lovisenberg Diakonale Sykehus" in page and "egne ansattes oppslag" in page
    assert KARI in page and PER_OLSEN in page  # Oslo's and Bærum's data
    assert "02923712995" not in page and "Per Dahl" not in page  # Fjordvik's staff
    logged = AuditEvent.objects.get(event=events.AUDIT_SEARCH)
    assert (logged.actor_name, logged.municipalities) == ("Sara Lunde", "")


def test_the_privacy_officers_queue_has_the_staff_rules(client, helseid, roles, settings):
    # Its records are written at the wall clock: no night window, or a run at night adds a night case.
    settings.AUDIT_REVIEW_NIGHT_START_HOUR = settings.AUDIT_REVIEW_NIGHT_END_HOUR = 0
    _read(patient=INGRID.pid)  # herself
    _read(patient="09899012469")  # Nina Lund, a colleague at Lovisenberg
    _read(by=PER, patient="23868130261", basis="emergency")  # Fjordvik's: not hers
    idp_login(client, helseid, "sara-lunde")
    page = client.get("/revisjon/gjennomgang/").content.decode()
    assert "Slo opp seg selv" in page and "Slo opp en kollega" in page
    assert "Per Dahl" not in page and page.count('class="card review-item') == 2


def test_the_oslo_auditor_does_not_see_the_privacy_officers_reads_of_the_log(client, helseid, roles):
    idp_login(client, helseid, "sara-lunde")
    client.get("/revisjon/")
    client.logout()
    idp_login(client, helseid, "jonas-strand")
    page = client.get("/revisjon/", {"event": "audit.*"}).content.decode()
    assert "Sara Lunde" not in page


def test_the_queue_filters_are_a_link(client, helseid, roles, settings):
    # Its records are written at the wall clock: no night window, or a run at night adds a night case.
    settings.AUDIT_REVIEW_NIGHT_START_HOUR = settings.AUDIT_REVIEW_NIGHT_END_HOUR = 0
    _read(basis="emergency")
    _read(by=PER, patient=PER_OLSEN, basis="emergency")
    idp_login(client, helseid, "jonas-strand")
    everything = client.get("/revisjon/gjennomgang/").content.decode()
    assert everything.count('class="card review-item') == 2
    response = client.get("/revisjon/gjennomgang/", {"person": "Per Dahl", "rule": "emergency", "status": "open"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="card review-item') == 1 and "Per Dahl" in page and 'value="Per Dahl"' in page
    assert (
        client.get("/revisjon/gjennomgang/", {"organisation": "fjordvik"})
        .content.decode()
        .count('class="card review-item')
        == 1
    )
    none = client.get("/revisjon/gjennomgang/", {"start": "01.01.2020", "end": "02.01.2020"}).content.decode()
    assert "Ingen saker passer filtrene." in none


@pytest.mark.parametrize(
    "query",
    [{"rule": "nonsense"}, {"start": "31.02.2026"}, {"start": "02.01.2026", "end": "01.01.2026"}, {"person": "a\x00b"}],
)
def test_bad_queue_filters_are_a_form_error(client, helseid, roles, query):
    idp_login(client, helseid, "jonas-strand")
    response = client.get("/revisjon/gjennomgang/", query)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert not AuditEvent.objects.filter(event=events.AUDIT_REVIEW_QUEUE).exists()


def test_bulk_sign_off_marks_every_chosen_item_with_one_comment(client, helseid, roles):
    first, second = _read(basis="emergency"), _read(by=PER, patient=PER_OLSEN, basis="emergency")
    idp_login(client, helseid, "jonas-strand")
    keys = [f"emergency:{first.pk}", f"emergency:{second.pk}"]
    response = client.post(
        "/revisjon/gjennomgang/merk/",
        {"key": keys, "comment": "Begge begrunnet i journalen.", "back": "rule=emergency&bogus=1"},
    )
    assert response.status_code == 302 and response["Location"] == "/revisjon/gjennomgang/?rule=emergency"
    marks = AuditEvent.objects.filter(event=events.AUDIT_REVIEW).order_by("id")
    assert [mark.data["item"] for mark in marks] == keys
    assert {mark.reason for mark in marks} == {"Begge begrunnet i journalen."}
    assert {mark.data["batch_size"] for mark in marks} == {2}
    assert "2 saker merket som gjennomgått." in client.get(response["Location"]).content.decode()
    page = client.get("/revisjon/gjennomgang/", {"status": "done"}).content.decode()
    assert page.count('class="card review-item review-item--done') == 2


def test_bulk_sign_off_with_one_foreign_item_marks_none(client, helseid, roles):
    mine, baerums = _read(basis="emergency"), _read(patient=PER_OLSEN, municipality=BAERUM, basis="emergency")
    idp_login(client, helseid, "jonas-strand")
    response = client.post(
        "/revisjon/gjennomgang/merk/",
        {"key": [f"emergency:{mine.pk}", f"emergency:{baerums.pk}"], "comment": "ok"},
    )
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(event=events.AUDIT_REVIEW).exists()


def test_the_privacy_officer_signs_off_her_own_items_and_not_a_municipalitys(client, helseid, roles):
    mine = _read(basis="emergency")
    idp_login(client, helseid, "sara-lunde")
    own_key = f"org-{demo.LOVISENBERG}:emergency:{mine.pk}"
    assert (
        client.post("/revisjon/gjennomgang/merk/", {"key": f"emergency:{mine.pk}", "comment": "x"}).status_code == 404
    )
    response = client.post("/revisjon/gjennomgang/merk/", {"key": own_key, "comment": "Avklart med lederen."})
    assert response.status_code == 302
    mark = AuditEvent.objects.get(event=events.AUDIT_REVIEW)
    assert (mark.actor_name, mark.data["item"], mark.org_parent) == ("Sara Lunde", own_key, demo.LOVISENBERG)


def test_a_sign_off_without_a_chosen_item_or_comment_changes_nothing(client, helseid, roles):
    mine = _read(basis="emergency")
    idp_login(client, helseid, "jonas-strand")
    assert client.post("/revisjon/gjennomgang/merk/", {"comment": "ok"}).status_code == 302
    assert (
        client.post("/revisjon/gjennomgang/merk/", {"key": f"emergency:{mine.pk}", "comment": " "}).status_code == 302
    )
    assert not AuditEvent.objects.filter(event=events.AUDIT_REVIEW).exists()
