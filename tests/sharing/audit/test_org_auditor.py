"""The privacy officer of a reading organisation (issue 16): its own staff's reads, in every
municipality, and nothing else; its review rules; the worklist's filters and bulk sign-off."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devdata import demo
from sharing.access.auditlog import agreement_units, colleagues_of, review_items, search_log
from sharing.access.models import KnownPerson, Membership
from sharing.access.permissions import auditor_scope, reviewer_scope
from sharing.agreements.models import Organisation
from sharing.audit import events
from sharing.audit.actions import mark_many_reviewed, record_event
from sharing.audit.models import AuditEvent
from sharing.audit.review import QueueFilter, Rule, filtered, review_queue
from sharing.audit.scope import AuditScope
from sharing.audit.search import AuditFilter
from sharing.core.actor import Actor, Role

from .helpers import clock

pytestmark = pytest.mark.django_db

OSLO, BAERUM, LOVISENBERG, FJORDVIK = demo.OSLO, demo.BAERUM, demo.LOVISENBERG, demo.FJORDVIK
TZ = ZoneInfo("Europe/Oslo")
KARI, PER_OLSEN = "30875928763", "14904839826"
NINA_PID = "09899012469"  # Nina Lund: a member of Lovisenberg (devdata/demo.py MEMBERS)
EVA_PID, TOR_PID = "24844839495", "19864505174"  # synthetic (devdata.generate.synthetic_fnr)
INGRID_PID = "12837826592"

INGRID = Actor(
    sub="sub-ingrid",
    pid=INGRID_PID,
    hpr_number="565501872",
    name="Ingrid Berg",
    orgnr_parent=LOVISENBERG,
    org_parent_name="Lovisenberg Diakonale Sykehus",
    roles=frozenset({Role.CLINICIAN}),
)
PER = Actor(
    sub="sub-per",
    pid="23868130261",
    hpr_number="565503020",
    name="Per Dahl",
    orgnr_parent=FJORDVIK,
    org_parent_name="Fjordvik sykehus",
)
ASTRID = Actor(sub="sub-astrid", pid="17817213715", name="Astrid Holm", orgnr_parent=OSLO, org_parent_name="Oslo")
SARA = Actor(
    sub="sub-sara",
    pid="21887910186",
    name="Sara Lunde",
    orgnr_parent=LOVISENBERG,
    grants=frozenset({(Role.ORG_AUDITOR, LOVISENBERG)}),
)
STAFF = AuditScope(frozenset(), frozenset({LOVISENBERG}))


@pytest.fixture
def orgs(db):
    return demo.seed_organisations()  # with the demo memberships: Nina Lund works at Lovisenberg


def _day(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


def _read(at=None, *, by=INGRID, patient=KARI, outcome="granted", basis="care", municipality=OSLO, event=None):
    with clock(at or _day(1, 10)):
        return record_event(
            event=event or events.PATIENT_LOOKUP,
            outcome=outcome,
            by=by,
            patient_value=patient,
            basis=basis,
            reason="Innlagt",
            data={"denial": "no-agreement"} if outcome == "denied" else {"count": 3},
            municipalities=[municipality],
        )


def _items(scope=STAFF, rule=None):
    queue = review_queue(scope, units=agreement_units(), colleagues=colleagues_of(scope))
    return [item for item in queue if rule is None or item.rule == rule]


# --- Scope -----------------------------------------------------------------------------------


def test_the_privacy_officer_reads_its_own_staffs_events_in_every_municipality_and_nothing_else(orgs):
    assert auditor_scope(SARA) == STAFF and reviewer_scope(SARA) == STAFF
    in_oslo, in_baerum = _read(), _read(patient=PER_OLSEN, municipality=BAERUM)
    _read(by=PER)  # another organisation's staff, in Oslo
    with clock(_day(1, 11)):  # Oslo's own work: an agreement with Lovisenberg, but not its staff's
        record_event(event="agreement.create", outcome="success", by=ASTRID, data={"consumer": LOVISENBERG})
    seen = set(AuditEvent.objects.in_scope(STAFF).values_list("pk", flat=True))
    assert seen == {in_oslo.pk, in_baerum.pk}
    result = search_log(by=SARA, scope=STAFF, criteria=AuditFilter())
    assert {row.pk for row in result.rows} == {in_oslo.pk, in_baerum.pk}
    assert result.names == {}  # names come from a municipality's data, and it holds none


def test_municipal_auditors_do_not_gain_the_staff_scope(orgs):
    jonas = Actor(name="Jonas Strand", orgnr_parent=OSLO, grants=frozenset({(Role.AUDITOR, OSLO)}))
    assert auditor_scope(jonas) == AuditScope(frozenset({OSLO}))
    # A privacy officer's grant never reads as a municipality's auditor grant.
    assert auditor_scope(SARA).municipalities == frozenset()
    assert auditor_scope(Actor(name="nobody", orgnr_parent=LOVISENBERG)) is None


# --- The staff rules: each with a case that triggers and one that does not -------------------


def test_a_lookup_of_ones_own_national_id_is_an_item(orgs):
    own = _read(patient=INGRID_PID)
    _read(patient=KARI)
    [item] = _items(rule=Rule.SELF_LOOKUP)
    assert item.event_ids == (own.pk,) and item.actor_name == "Ingrid Berg"
    assert item.key.startswith(f"org-{LOVISENBERG}:self-lookup:")


def test_a_lookup_of_a_colleague_is_an_item_and_of_a_stranger_not(orgs):
    colleague = _read(patient=NINA_PID)
    _read(patient=KARI)
    [item] = _items(rule=Rule.COLLEAGUE)
    assert item.event_ids == (colleague.pk,) and item.patients == (NINA_PID,)


def test_a_colleague_registered_by_hpr_number_only_is_matched_by_the_national_id_of_their_login(orgs):
    # Registered by Lovisenberg's admin with an HPR number only; HelseID named her national ID at
    # her last login (KnownPerson). A member by HPR number who never logged in cannot be matched.
    lovisenberg = Organisation.objects.get(orgnr=LOVISENBERG)
    for hpr, name in (("565509999", "Eva Hansen"), ("565508888", "Tor Vik")):
        Membership.objects.create(
            organisation=lovisenberg, hpr_number=hpr, name=name, valid_from=dt.date(2025, 1, 1),
            created_at=timezone.now(), created_by="Lovisenberg admin",
        )  # fmt: skip
    now = timezone.now()
    KnownPerson.objects.create(
        pid=EVA_PID, hpr_number="565509999", name="Eva Hansen", first_login_at=now, last_login_at=now
    )
    eva = _read(patient=EVA_PID)
    _read(patient=TOR_PID)  # Tor Vik's national ID, which nothing here ties to his HPR number
    [item] = _items(rule=Rule.COLLEAGUE)
    assert item.event_ids == (eva.pk,) and item.patients == (EVA_PID,)


def test_a_colleague_of_another_organisation_is_not_one(orgs):
    _read(by=PER, patient=NINA_PID)  # Per works at Fjordvik; Nina at Lovisenberg
    fjordvik = AuditScope(frozenset(), frozenset({FJORDVIK}))
    assert _items(fjordvik, rule=Rule.COLLEAGUE) == []
    assert _items(rule=Rule.COLLEAGUE) == []  # and Lovisenberg does not see Per at all


def test_emergency_access_by_staff_is_an_item_and_another_organisations_is_not_here(orgs):
    own = _read(basis="emergency")
    _read(by=PER, basis="emergency", patient=PER_OLSEN)
    [item] = _items(rule=Rule.EMERGENCY)
    assert item.key == f"org-{LOVISENBERG}:emergency:{own.pk}"


def test_denied_bursts_by_staff(orgs, settings):
    settings.AUDIT_REVIEW_DENIED_BURST, settings.AUDIT_REVIEW_DENIED_BURST_MINUTES = 3, 10
    for minute in (0, 3, 6):
        _read(_day(1, 13, minute), outcome="denied", patient=PER_OLSEN)
    for hour in (8, 10, 12):  # spread out: no burst
        _read(_day(2, hour), outcome="denied")
    [item] = _items(rule=Rule.DENIED_BURST)
    assert item.count == 3 and item.all_denied


def test_night_lookups_by_staff(orgs):
    _read(_day(2, 23, 30))
    _read(_day(3, 22, 0))  # before the night begins
    [item] = _items(rule=Rule.NIGHT)
    assert item.first_at == _day(2, 23, 30)


def test_the_monthly_sample_is_stable_and_only_granted_lookups(orgs, settings):
    settings.AUDIT_REVIEW_SAMPLE_PER_MONTH = 2
    granted = [_read(_day(0, 9, minute)) for minute in range(6)]
    _read(_day(0, 10), outcome="denied")
    _read(_day(0, 10, 5), event=events.PATIENT_VIEW)  # a page view is no lookup
    first = _items(rule=Rule.SAMPLE)
    assert len(first) == 2
    assert {item.event_ids[0] for item in first} <= {event.pk for event in granted}
    assert [item.key for item in _items(rule=Rule.SAMPLE)] == [item.key for item in first]
    month = f"{timezone.localtime(granted[0].occurred_at):%Y-%m}"
    assert all(item.key.startswith(f"org-{LOVISENBERG}:sample:{month}:") for item in first)
    settings.AUDIT_REVIEW_SAMPLE_PER_MONTH = 0
    assert _items(rule=Rule.SAMPLE) == []


def test_the_staff_rules_are_the_privacy_officers_only(orgs):
    _read(patient=INGRID_PID)
    _read(patient=NINA_PID)
    oslo = _items(AuditScope(frozenset({OSLO})))
    assert not [item for item in oslo if item.rule in {Rule.SELF_LOOKUP, Rule.COLLEAGUE, Rule.SAMPLE}]


# --- Sign-off ---------------------------------------------------------------------------------


def test_bulk_sign_off_writes_one_record_per_item_naming_the_batch(orgs, settings):
    settings.AUDIT_REVIEW_SAMPLE_PER_MONTH = 0
    _read(basis="emergency")
    _read(patient=INGRID_PID)
    items = _items()
    assert len(items) == 2
    marks = mark_many_reviewed(items=items, scope=STAFF, comment="Sjekket med avdelingen.", by=SARA)
    assert [mark.data["item"] for mark in marks] == [item.key for item in items]
    assert {mark.data["batch_size"] for mark in marks} == {2} and len({mark.data["batch"] for mark in marks}) == 1
    assert all(mark.reason == "Sjekket med avdelingen." and mark.event == events.AUDIT_REVIEW for mark in marks)
    assert all(item.review is not None for item in _items())
    assert {mark.municipalities for mark in marks} == {""}  # the officer speaks for no municipality


def test_the_privacy_officers_sign_off_is_not_the_municipalitys(orgs, settings):
    settings.AUDIT_REVIEW_SAMPLE_PER_MONTH = 0
    _read(basis="emergency")
    [mine] = _items()
    mark_many_reviewed(items=[mine], scope=STAFF, comment="Ok.", by=SARA)
    [oslos] = _items(AuditScope(frozenset({OSLO})))
    [services] = _items(AuditScope(None), rule=Rule.EMERGENCY)
    assert oslos.review is None and services.review is None
    assert "batch" not in AuditEvent.objects.get(event=events.AUDIT_REVIEW).data  # one item: no batch


# --- Filters and query counts ----------------------------------------------------------------


def test_the_queue_filters_by_rule_person_organisation_period_and_status(orgs):
    jonas = Actor(name="Jonas Strand", orgnr_parent=OSLO, grants=frozenset({(Role.AUDITOR, OSLO)}))
    _read(_day(5, 12), basis="emergency")
    _read(_day(1, 12), by=PER, basis="emergency", patient=PER_OLSEN)
    _read(_day(1, 23, 30))
    items = _items(AuditScope(frozenset({OSLO})))
    assert len(items) == 3

    def keys(**criteria):
        return sorted(item.rule for item in filtered(items, QueueFilter(**criteria)))

    assert keys(rule="night") == [Rule.NIGHT]
    assert keys(person="per") == [Rule.EMERGENCY]
    assert keys(person="565501872") == [Rule.EMERGENCY, Rule.NIGHT]
    assert keys(organisation=FJORDVIK) == [Rule.EMERGENCY]
    assert keys(organisation="lovisenberg") == [Rule.EMERGENCY, Rule.NIGHT]
    day = timezone.localdate()
    assert keys(start=day - dt.timedelta(days=2)) == [Rule.EMERGENCY, Rule.NIGHT]
    assert keys(end=day - dt.timedelta(days=4)) == [Rule.EMERGENCY]
    assert keys(status="done") == []
    assert len(keys(status="open")) == 3
    shown = review_items(by=jonas, scope=AuditScope(frozenset({OSLO})), criteria=QueueFilter(rule="night"))
    assert [item.rule for item in shown] == [Rule.NIGHT]
    logged = AuditEvent.objects.get(event=events.AUDIT_REVIEW_QUEUE)
    assert (logged.data["filters"], logged.data["count"]) == ({"rule": "night"}, 1)


def _queries_for_queue() -> int:
    with CaptureQueriesContext(connection) as queries:
        review_items(by=SARA, scope=STAFF)
    return len(queries)


def test_the_privacy_officers_queue_takes_as_many_queries_for_a_long_log_as_a_short_one(orgs, settings):
    settings.AUDIT_REVIEW_SAMPLE_PER_MONTH = 3
    _read(basis="emergency")
    _read(patient=INGRID_PID)
    _read(patient=NINA_PID)
    _read(_day(2, 23, 30))
    short = _queries_for_queue()
    for n in range(12):
        _read(_day(0, 9, n), basis="emergency" if n % 3 == 0 else "care", patient=[KARI, NINA_PID, INGRID_PID][n % 3])
        _read(_day(3 + n % 4, 23, n))
    assert _queries_for_queue() == short
