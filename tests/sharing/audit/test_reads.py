"""The auditors' reads: each logged before its result leaves, nothing returned if it cannot be."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from sharing.access.actions import AuditUnavailable
from sharing.access.auditlog import patient_access_report, review_items, search_log
from sharing.audit import events
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent
from sharing.audit.presenters import present, present_for_patient
from sharing.audit.scope import AuditScope
from sharing.audit.search import AuditFilter
from sharing.core.actor import Actor, Role
from tests import actors

from .helpers import audit_writes_fail, clock

pytestmark = pytest.mark.django_db

OSLO, BAERUM = "311111019", "315555019"
KARI, PER_OLSEN = "30875928763", "14904839826"
OSLO_SCOPE = AuditScope(frozenset({OSLO}))
JONAS = Actor(sub="sub-jonas", name="Jonas Strand", orgnr_parent=OSLO, grants=frozenset({(Role.AUDITOR, OSLO)}))
INGRID = actors.INGRID_AT_LOVISENBERG


def _lookup(patient=KARI, outcome="granted", municipalities=(OSLO,), **data):
    return record_event(
        event=events.PATIENT_LOOKUP,
        outcome=outcome,
        by=INGRID,
        patient_system="urn:oid:2.16.578.1.12.4.1.4.1",
        patient_value=patient,
        basis="care",
        reason="Innlagt med tung pust",
        data=data
        or {
            "kinds": ["blood_pressure", "body_weight"],
            "period": ["2025-09-01T08:00:00+02:00", "2025-11-30T08:00:00+01:00"],
            "count": 120,
        },
        municipalities=list(municipalities),
    )


def test_search_is_logged_with_its_filters_and_what_it_showed():
    shown = _lookup()
    _lookup(patient=PER_OLSEN)
    result = search_log(by=JONAS, scope=OSLO_SCOPE, criteria=AuditFilter(patient=KARI))
    assert [r.pk for r in result.rows] == [shown.pk]
    record = AuditEvent.objects.get(event=events.AUDIT_SEARCH)
    assert (record.actor_name, record.patient_value, record.municipalities) == ("Jonas Strand", KARI, OSLO)
    assert record.data == {"filters": {"patient": KARI}, "page": 1, "count": 1}


def test_the_auditors_own_reads_are_listed_only_when_asked_for():
    _lookup()
    search_log(by=JONAS, scope=OSLO_SCOPE, criteria=AuditFilter())
    default = search_log(by=JONAS, scope=OSLO_SCOPE, criteria=AuditFilter())
    assert {r.event for r in default.rows} == {events.PATIENT_LOOKUP}
    own = search_log(by=JONAS, scope=OSLO_SCOPE, criteria=AuditFilter(event="audit.*"))
    assert {r.event for r in own.rows} == {events.AUDIT_SEARCH}


PER = Actor(sub="sub-per", hpr_number="565503020", name="Per Dahl", orgnr_parent="314444019")


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (AuditFilter(user="565501872"), ["Ingrid Berg"]),
        (AuditFilter(user="ingrid"), ["Ingrid Berg"]),
        (AuditFilter(user="sub-per"), ["Per Dahl"]),
        (AuditFilter(organisation="312345013"), ["Ingrid Berg"]),
        (AuditFilter(organisation="lovisenberg"), ["Ingrid Berg"]),
        (AuditFilter(outcome="denied"), ["Per Dahl"]),
        (AuditFilter(basis="emergency"), []),
        (AuditFilter(event="patient.*"), ["Per Dahl", "Ingrid Berg"]),
        (AuditFilter(event="patient.lookup", patient=PER_OLSEN), ["Per Dahl"]),
        (AuditFilter(event="agreement.*"), []),
    ],
)
def test_filters(criteria, expected):
    _lookup()
    record_event(
        event=events.PATIENT_LOOKUP,
        outcome="denied",
        by=PER,
        patient_value=PER_OLSEN,
        data={"denial": "no-agreement"},
        municipalities=[OSLO],
    )
    result = search_log(by=JONAS, scope=OSLO_SCOPE, criteria=criteria)
    assert [r.actor_name for r in result.rows] == expected


def test_period_filter_uses_local_days():
    with clock(dt.datetime(2025, 3, 1, 0, 30, tzinfo=ZoneInfo("Europe/Oslo"))):  # 23:30 UTC the day before
        _lookup()
    march = search_log(
        by=JONAS, scope=OSLO_SCOPE, criteria=AuditFilter(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 1))
    )
    february = search_log(by=JONAS, scope=OSLO_SCOPE, criteria=AuditFilter(end=dt.date(2025, 2, 28)))
    assert (len(march.rows), len(february.rows)) == (1, 0)


def test_pages_without_counting_everything():
    for _ in range(55):
        _lookup()
    first = search_log(by=JONAS, scope=OSLO_SCOPE, criteria=AuditFilter())
    second = search_log(by=JONAS, scope=OSLO_SCOPE, criteria=AuditFilter(), page=2)
    assert (len(first.rows), first.has_next, len(second.rows), second.has_next) == (50, True, 5, False)
    assert first.rows[0].occurred_at >= first.rows[-1].occurred_at >= second.rows[0].occurred_at


def test_when_the_log_cannot_record_the_read_nothing_is_returned():
    _lookup()
    with audit_writes_fail():
        with pytest.raises(AuditUnavailable):
            search_log(by=JONAS, scope=OSLO_SCOPE, criteria=AuditFilter(patient=KARI))
        with pytest.raises(AuditUnavailable):
            patient_access_report(by=JONAS, scope=OSLO_SCOPE, patient=KARI, fmt="html")
        with pytest.raises(AuditUnavailable):
            review_items(by=JONAS, scope=OSLO_SCOPE)
    assert not AuditEvent.objects.filter(event__startswith="audit.").exists()


def test_patient_report_lists_reads_of_this_patients_measurements_in_scope(patient_data):
    granted = _lookup()
    denied = _lookup(outcome="denied", denial="no-agreement")
    _lookup(patient=PER_OLSEN)  # another patient
    _lookup(municipalities=[BAERUM])  # another municipality's data
    record_event(event="agreement.activated", outcome="success", by=JONAS, data={"controller": OSLO})
    search_log(by=JONAS, scope=OSLO_SCOPE, criteria=AuditFilter(patient=KARI))  # an auditor's read is no access

    report = patient_access_report(by=JONAS, scope=OSLO_SCOPE, patient=KARI, fmt="csv")

    assert [r.pk for r in report.records] == [denied.pk, granted.pk]
    assert report.patient_name == "Kari Nordmann"
    made = AuditEvent.objects.get(event=events.AUDIT_PATIENT_REPORT)
    assert (made.patient_value, made.data) == (KARI, {"format": "csv", "count": 2})


@translation.override("nb")
def test_patient_wording():
    granted, denied = present_for_patient(_lookup()), present_for_patient(_lookup(outcome="denied", denial="x"))
    assert granted.who == "Ingrid Berg"
    assert granted.role == "Helsepersonell"
    assert granted.organisation == "Lovisenberg Diakonale Sykehus / Lovisenberg, medisinsk klinikk"
    assert granted.what.startswith("Søkte deg opp og så hvilke målinger som finnes: Blodtrykk, Vekt (01.09.2025")
    assert granted.basis == "Oppga at du fikk helsehjelp der"
    assert (granted.reason, granted.result) == ("Innlagt med tung pust", "Fikk tilgang")
    assert (denied.what, denied.result) == ("Ingenting ble vist", "Ble nektet tilgang")


@translation.override("nb")
def test_auditor_wording_names_the_real_denial():
    view = present(_lookup(outcome="denied", denial="reserved"))
    assert view.detail == "Pasienten har reservert seg mot deling"
    assert view.event_label == "Oppslag på pasient"
