"""The review queue's rules, each read from the log, and the auditor's mark."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from sharing.access.auditlog import agreement_units
from sharing.agreements.models import Agreement, Organisation
from sharing.audit import events
from sharing.audit.actions import mark_reviewed, record_event
from sharing.audit.review import Rule, review_queue
from sharing.audit.scope import AuditScope
from sharing.core.actor import Actor, Role

from .helpers import clock

pytestmark = pytest.mark.django_db

OSLO, BAERUM = "311111019", "315555019"
OSLO_SCOPE = AuditScope(frozenset({OSLO}))
BAERUM_SCOPE = AuditScope(frozenset({BAERUM}))
TZ = ZoneInfo("Europe/Oslo")
PATIENTS = ["30875928763", "14904839826", "02923712995", "12837826592", "04916517721"]

INGRID = Actor(
    sub="sub-ingrid",
    hpr_number="565501872",
    name="Ingrid Berg",
    orgnr_parent="312222019",
    orgnr_child="312345013",
    org_parent_name="Lovisenberg Diakonale Sykehus",
    roles=frozenset({Role.CLINICIAN}),
)
PER = Actor(sub="sub-per", hpr_number="565503020", name="Per Dahl", orgnr_parent="314444019")
JONAS = Actor(sub="sub-jonas", name="Jonas Strand", orgnr_parent=OSLO, grants=frozenset({(Role.AUDITOR, OSLO)}))


def _day(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


def _read(at, *, by=INGRID, patient=PATIENTS[0], outcome="granted", basis="care", data=None, municipalities=(OSLO,)):
    with clock(at):
        return record_event(
            event=events.PATIENT_LOOKUP,
            outcome=outcome,
            by=by,
            patient_value=patient,
            basis=basis,
            reason="Innlagt" if basis != "emergency" else "Bevisstløs i akuttmottak",
            data=data if data is not None else ({"denial": "no-agreement"} if outcome == "denied" else {"count": 3}),
            municipalities=list(municipalities),
        )


def _items(scope=OSLO_SCOPE, rule=None):
    return [item for item in review_queue(scope, units=agreement_units()) if rule is None or item.rule == rule]


def test_ordinary_daytime_reads_raise_nothing():
    for patient in PATIENTS[:3]:
        _read(_day(2, 10), patient=patient)
    assert _items() == []


def test_every_emergency_access_is_an_item():
    event = _read(_day(1, 14), basis="emergency")
    _read(_day(1, 15))
    [item] = _items()
    assert (item.rule, item.key, item.event_ids) == (Rule.EMERGENCY, f"emergency:{event.pk}", (event.pk,))
    assert item.reason == "Bevisstløs i akuttmottak"
    assert item.actor_name == "Ingrid Berg"


def test_a_burst_of_denied_lookups_is_one_item(settings):
    settings.AUDIT_REVIEW_DENIED_BURST, settings.AUDIT_REVIEW_DENIED_BURST_MINUTES = 3, 10
    burst = [
        _read(_day(1, 13, minute), by=PER, patient=p, outcome="denied")
        for minute, p in zip((0, 4, 8, 9), PATIENTS[:4], strict=True)
    ]
    [item] = _items()
    assert item.rule == Rule.DENIED_BURST
    assert item.event_ids == tuple(e.pk for e in burst)
    assert item.patient_count == 4


def test_denied_lookups_spread_out_or_too_few_are_not_a_burst(settings):
    settings.AUDIT_REVIEW_DENIED_BURST, settings.AUDIT_REVIEW_DENIED_BURST_MINUTES = 3, 10
    for hour in (9, 11, 13):  # three, but hours apart
        _read(_day(1, hour), by=PER, outcome="denied")
    _read(_day(2, 9, 0), by=PER, outcome="denied")  # two close together
    _read(_day(2, 9, 5), by=PER, outcome="denied")
    _read(_day(2, 9, 6), by=INGRID, outcome="denied")  # someone else
    assert _items(rule=Rule.DENIED_BURST) == []


def test_more_distinct_patients_in_a_day_than_allowed(settings):
    settings.AUDIT_REVIEW_PATIENTS_PER_DAY = 3
    reads = [_read(_day(3, 9 + n), patient=p) for n, p in enumerate(PATIENTS[:4])]
    for n in range(6):  # one patient many times is not many patients
        _read(_day(4, 9 + n), patient=PATIENTS[0])
    [item] = _items()
    assert item.rule == Rule.MANY_PATIENTS
    assert item.event_ids == tuple(r.pk for r in reads)
    assert item.key == f"many-patients:sub-ingrid:{_day(3, 9).date().isoformat()}"


def test_reads_at_night_are_one_item_per_person_and_night(settings):
    settings.AUDIT_REVIEW_NIGHT_START_HOUR, settings.AUDIT_REVIEW_NIGHT_END_HOUR = 23, 6
    late = _read(_day(3, 23, 30))
    early = _read(_day(2, 1, 15), patient=PATIENTS[1])  # the same night, after midnight
    _read(_day(2, 6, 30))  # morning
    _read(_day(2, 22, 59))  # evening
    [item] = _items()
    assert (item.rule, item.event_ids) == (Rule.NIGHT, (late.pk, early.pk))
    assert item.key.endswith(_day(3, 0).date().isoformat())


def test_lookups_by_a_unit_outside_the_agreement(oslo):
    denied = _read(_day(1, 10), outcome="denied", data={"denial": "unit-not-covered"})
    agreement = Agreement.objects.get(controller__orgnr=OSLO, consumer__orgnr="312222019")
    agreement.units.add(Organisation.objects.get(orgnr="312345013"))
    fine = _read(_day(1, 11), data={"agreements": [agreement.pk], "count": 1})
    elsewhere = Actor(**{**INGRID.__dict__, "orgnr_child": "312999999"})
    outside = _read(_day(1, 12), by=elsewhere, data={"agreements": [agreement.pk], "count": 1})
    found = {item.event_ids for item in _items(rule=Rule.OUTSIDE_UNIT)}
    assert found == {(denied.pk,), (outside.pk,)}
    assert (fine.pk,) not in found


def test_the_queue_looks_back_a_configured_number_of_days(settings):
    settings.AUDIT_REVIEW_LOOKBACK_DAYS = 31
    _read(_day(40, 14), basis="emergency")
    assert _items() == []


def test_a_municipality_sees_only_items_about_its_data():
    _read(_day(1, 14), basis="emergency", municipalities=[BAERUM])
    assert _items(OSLO_SCOPE) == []
    assert len(_items(BAERUM_SCOPE)) == 1


def test_marking_an_item_reviewed_is_itself_logged_and_ends_the_open_item():
    _read(_day(1, 14), basis="emergency")
    [item] = _items()
    mark = mark_reviewed(
        item_key=item.key,
        rule=item.rule,
        comment="Pasienten kom inn bevisstløs; tilgangen var begrunnet.",
        event_ids=list(item.event_ids),
        municipalities=[OSLO],
        by=JONAS,
    )
    assert (mark.event, mark.actor_name, mark.data["item"]) == (events.AUDIT_REVIEW, "Jonas Strand", item.key)
    [reviewed] = _items()
    assert reviewed.review is not None
    assert reviewed.review.comment.startswith("Pasienten kom inn")
    assert reviewed.review.reviewer == "Jonas Strand"


def test_one_municipalitys_review_does_not_close_anothers_item():
    _read(_day(1, 14), basis="emergency", municipalities=[OSLO, BAERUM])
    [item] = _items()
    mark_reviewed(item_key=item.key, rule=item.rule, comment="ok", event_ids=[], municipalities=[OSLO], by=JONAS)
    assert _items(OSLO_SCOPE)[0].review is not None
    assert _items(BAERUM_SCOPE)[0].review is None


def test_unreviewed_items_come_first():
    _read(_day(3, 14), basis="emergency")
    _read(_day(1, 14), basis="emergency")
    newest = _items()[0]
    mark_reviewed(item_key=newest.key, rule=newest.rule, comment="ok", event_ids=[], municipalities=[OSLO], by=JONAS)
    first, second = _items()
    assert first.review is None and second.review is not None
