"""A prepared read of the granted rows (`GrantedQuery`) finds exactly what `Measurement.objects.granted`
finds, for every shape a decision takes: kinds, look-back, several agreements, linked numbers."""

import datetime as dt

import pytest
from django.utils import timezone

from devdata import demo
from sharing.access.decision import Decision, Scope
from sharing.access.granted import GrantedQuery
from sharing.measurements.models import Measurement

pytestmark = pytest.mark.django_db

_IDS = GrantedQuery(lambda granted, *, shape: granted.order_by("pk").only("id", "kind"))
_ONE = GrantedQuery(lambda granted, *, shape, measurement_id: granted.filter(pk=measurement_id))


def _decisions(patient: str) -> dict[str, Decision]:
    now = timezone.now()
    every = Scope(1, demo.OSLO, None, None)
    return {
        "every kind": Decision(True, scopes=(every,), patient=patient),
        "two kinds, 30 days": Decision(
            True, scopes=(Scope(1, demo.OSLO, frozenset({"body_weight", "heart_rate"}), now - dt.timedelta(days=30)),),
            patient=patient,
        ),
        "10 days": Decision(True, scopes=(Scope(1, demo.OSLO, None, now - dt.timedelta(days=10)),), patient=patient),
        "60 days": Decision(True, scopes=(Scope(1, demo.OSLO, None, now - dt.timedelta(days=60)),), patient=patient),
        "another municipality": Decision(True, scopes=(Scope(2, "964338531", None, None),), patient=patient),
        "two agreements": Decision(
            True,
            scopes=(Scope(2, "964338531", None, None), Scope(1, demo.OSLO, frozenset({"body_weight"}), None)),
            patient=patient,
        ),
        "a linked number": Decision(True, scopes=(every,), patient=demo.PATIENTS[1].pid, linked=(patient,)),
        "someone else": Decision(True, scopes=(every,), patient=demo.PATIENTS[1].pid),
        "denied": Decision(False, patient=patient),
    }  # fmt: skip


def test_the_prepared_read_finds_what_granted_finds_for_every_shape_of_decision(patient_data):
    found = {}
    for name, decision in _decisions(patient_data).items():
        expected = [m.pk for m in Measurement.objects.granted(decision).order_by("pk")]
        prepared = _IDS.objects(decision)
        assert [m.pk for m in prepared] == expected, name
        found[name] = len(expected)
    # The cases are not vacuous: each narrows the one before it as it should.
    assert found["every kind"] > found["60 days"] > found["10 days"] > 0
    assert 0 < found["two kinds, 30 days"] < found["every kind"]
    assert found["a linked number"] == found["every kind"]
    assert found["another municipality"] == found["someone else"] == found["denied"] == 0
    assert 0 < found["two agreements"] < found["every kind"]


def test_a_prepared_read_by_id_loads_the_row_as_the_orm_does(patient_data):
    decisions = _decisions(patient_data)
    rows = list(Measurement.objects.filter(patient_value=patient_data).order_by("effective"))
    recent = rows[-1]
    old = rows[0]
    (one,) = _ONE.objects(decisions["every kind"], measurement_id=recent.pk)
    assert (one.pk, one.kind, one.effective, one.value, one.flags) == (
        recent.pk, recent.kind, recent.effective, recent.value, recent.flags
    )  # fmt: skip
    assert _ONE.objects(decisions["10 days"], measurement_id=old.pk) == []  # outside the look-back
    assert _ONE.objects(decisions["someone else"], measurement_id=recent.pk) == []
    assert [m.pk for m in _ONE.objects(decisions["10 days"], measurement_id=recent.pk)] == [recent.pk]


def test_the_patient_pages_daily_aggregates_prepared_are_the_orms(patient_data):
    """`view_patient` reads the overview's daily aggregates through a prepared `values()` query."""
    from sharing.access.actions import _DAYS
    from sharing.measurements.overview import days_query, trend_window_start

    start = trend_window_start(timezone.now())
    zone = str(timezone.get_current_timezone())

    def ordered(rows):
        return sorted(rows, key=lambda r: (r["kind"], r["day"]))

    sizes = {}
    for name, decision in _decisions(patient_data).items():
        expected = list(days_query(Measurement.objects.granted(decision), start))
        assert ordered(_DAYS.dicts(decision, zone, window_start=start)) == ordered(expected), name
        sizes[name] = len(expected)
    assert sizes["every kind"] > sizes["10 days"] > 0 and sizes["two agreements"] > 0
    rows = _DAYS.dicts(_decisions(patient_data)["every kind"], zone, window_start=start)
    assert any(r["value_sum"] for r in rows) and any(r["systolic_sum"] for r in rows)


def test_the_patient_pages_newest_readings_prepared_are_the_lateral_probes(patient_data):
    """`view_patient` finds each kind's newest reading (and newest with ranges) through a prepared
    query; the rows are those of the same query run by the ORM, in the same order."""
    from sharing.access.actions import _LATEST
    from sharing.measurements.overview import latest_query, trend_window_start

    start = trend_window_start(timezone.now())
    kinds = ["blood_pressure", "body_weight", "heart_rate", "oxygen_saturation", "no_such_kind"]
    found = {}
    for name, decision in _decisions(patient_data).items():
        if not decision.granted:
            assert _LATEST.rows(decision, 1, window_start=start, kind0="heart_rate") == []
            continue
        for probed in (kinds, kinds[2:3]):
            expected = list(latest_query(Measurement.objects.granted(decision), probed, start))
            names = {f"kind{i}": kind for i, kind in enumerate(probed)}
            rows = _LATEST.rows(decision, len(probed), window_start=start, **names)
            assert rows == expected, name
            found[name, len(probed)] = {row[1] for row in rows}
    assert found["every kind", 5] == {"blood_pressure", "body_weight", "heart_rate", "oxygen_saturation"}
    assert found["two kinds, 30 days", 5] == {"body_weight", "heart_rate"}
    assert found["every kind", 1] == {"heart_rate"} and found["another municipality", 5] == set()
