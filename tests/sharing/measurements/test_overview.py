"""Reads for the patient page (overview.py, series.py): latest per kind, change, thresholds, alerts,
server-side aggregation."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sharing.measurements import overview as reads
from sharing.measurements import series as charts
from sharing.measurements.models import Measurement
from tests.portal.clinician.factories import KARI, measurement, store

OSLO = ZoneInfo("Europe/Oslo")
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=OSLO)


def _qs():
    return Measurement.objects.visible().for_patient(KARI)


def _at(days_ago: float, hour: int = 8) -> dt.datetime:
    day = NOW.date() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=OSLO)


@pytest.mark.parametrize(
    ("low", "high", "value", "state"),
    [(90, 140, 140, None), (90, 140, 141, "high"), (90, 140, 89.9, "low"), (94, None, 100, None), (None, 4, 5, "high")],
)
def test_range_bounds_are_inside(low, high, value, state):
    assert reads.Range(low, high).state(value) == state


@pytest.mark.django_db
def test_latest_change_and_trend_per_kind():
    store(
        [measurement(kind="heart_rate", effective=_at(d), value=60) for d in range(7, 14)]
        + [measurement(kind="heart_rate", effective=_at(d), value=70) for d in range(0, 7)]
        + [measurement(kind="heart_rate", effective=_at(0, hour=11), value=104)]
    )
    [pulse] = reads.overview(_qs(), now=NOW).kinds
    assert pulse.latest.values == {"value": 104} and pulse.latest.state("value") == "high"
    [part] = pulse.parts
    assert part.mean_recent == pytest.approx((70 * 7 + 104) / 8)
    assert part.mean_previous == 60
    assert part.change == pytest.approx((70 * 7 + 104) / 8 - 60)
    assert len(part.trend) == 14 and part.trend[-1] == (NOW.date(), 87)
    assert (pulse.count, pulse.recent_count) == (15, 8)


@pytest.mark.django_db
def test_a_kind_measured_long_ago_still_gets_its_latest_reading():
    store(
        [
            measurement(kind="body_weight", effective=_at(200), value=79.0),
            measurement(kind="body_weight", effective=_at(120), value=80.5),
            measurement(kind="heart_rate", effective=_at(1), value=70),
        ]
    )
    overview = reads.overview(_qs(), now=NOW)
    weight = next(k for k in overview.kinds if k.kind == "body_weight")
    assert weight.latest.values == {"value": 80.5}
    # Only the latest is shown (and logged): nothing of it falls in the trend window.
    assert (weight.count, weight.first, weight.parts[0].trend) == (1, _at(120), ())
    assert [k.kind for k in overview.kinds] == ["heart_rate", "body_weight"]  # clinical order


@pytest.mark.django_db
def test_hidden_readings_do_not_count():
    store(
        [
            measurement(kind="heart_rate", effective=_at(1), value=70),
            measurement(kind="heart_rate", effective=_at(0), value=250, status="entered-in-error"),
        ]
    )
    [pulse] = reads.overview(_qs(), now=NOW).kinds
    assert pulse.latest.values == {"value": 70} and pulse.count == 1


@pytest.mark.django_db
def test_blood_pressure_is_read_as_a_pair_with_default_ranges():
    store([measurement(kind="blood_pressure", effective=_at(0), systolic=150, diastolic=85)])
    [bp] = reads.overview(_qs(), now=NOW).kinds
    assert [(p.part, p.latest, p.state) for p in bp.parts] == [("systolic", 150, "high"), ("diastolic", 85, None)]


@pytest.mark.django_db
def test_own_reference_range_wins_over_the_default():
    store([measurement(kind="oxygen_saturation", effective=_at(0), value=90, reference=(88, 92))])
    [spo2] = reads.overview(_qs(), now=NOW).kinds
    assert (spo2.parts[0].range, spo2.parts[0].state) == (reads.Range(88, 92, "municipality", 2), None)


@pytest.mark.django_db
@pytest.mark.parametrize(("values", "alert"), [((80.0, 81.0, 82.0), True), ((80.5, 81.0, 82.0), False)])
def test_weight_gain_of_two_kilos_in_three_days(values, alert):
    store([measurement(kind="body_weight", effective=_at(d), value=v) for d, v in zip((3, 1, 0), values, strict=True)])
    [weight] = reads.overview(_qs(), now=NOW).kinds
    assert ("weight-gain" in [a.code for a in weight.alerts]) is alert


@pytest.mark.django_db
def test_news2_single_parameter_three_and_risk_bands():
    scores = {"resp_rate": 3, "pulse": 0, "temperature": 0}
    store([measurement(kind="news2", effective=_at(0), value=3, components=scores)])
    [news2] = reads.overview(_qs(), now=NOW).kinds
    assert [a.code for a in news2.alerts] == ["news2-single-parameter"]
    assert [reads.news2_risk(v) for v in (0, 4, 5, 6, 7, 15)] == ["low", "low", "medium", "medium", "high", "high"]


@pytest.mark.django_db
def test_the_name_comes_from_the_newest_subject_display():
    store(
        [
            measurement(kind="heart_rate", effective=_at(3), value=70, name="Kari Hansen"),
            measurement(kind="glucose", effective=_at(0), value=6, name="Kari Nordmann"),
        ]
    )
    assert reads.overview(_qs(), now=NOW).patient_display == "Kari Nordmann"
    assert reads.summary(_qs()).patient_display == "Kari Nordmann"


@pytest.mark.django_db
def test_long_series_are_aggregated_by_local_day_and_the_readings_stay_exact():
    start = dt.datetime(2026, 3, 1, tzinfo=OSLO)
    # 23:30 UTC on 1 March is 00:30 on 2 March in Oslo: it belongs to Oslo's 2 March.
    rows = [
        measurement(kind="glucose", effective=start + dt.timedelta(hours=6 * i), value=5 + i % 4) for i in range(80)
    ]
    rows.append(measurement(kind="glucose", effective=dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC), value=9.95))
    rows.append(measurement(kind="glucose", effective=start + dt.timedelta(days=3, hours=1), value=3.2))
    store(rows)
    series = charts.series(_qs(), kind="glucose", start=start, end=start + dt.timedelta(days=30), max_points=40)
    assert series.resolution == "day" and series.count == 82 and series.points == ()
    march_2 = next(b for b in series.buckets if timezone.localtime(b.start).date() == dt.date(2026, 3, 2))
    assert (march_2.readings, march_2.high["value"], march_2.low["value"]) == (5, 9.95, 5)
    assert march_2.mean["value"] == pytest.approx((5 + 6 + 7 + 8 + 9.95) / 5)
    # Outside the default range (4–10): 3.2 on 4 March lies below; 9.95 is inside.
    assert (march_2.below, march_2.above) == ({"value": 0}, {"value": 0})
    march_4 = next(b for b in series.buckets if timezone.localtime(b.start).date() == dt.date(2026, 3, 4))
    assert (march_4.below, march_4.low["value"]) == ({"value": 1}, 3.2)
    # The table's page holds exact readings, newest first; the newest is the latest.
    assert [r.values["value"] for r in series.rows[:2]] == [8, 7] and series.latest == series.rows[0]
    raw = charts.series(_qs(), kind="glucose", start=start, end=start + dt.timedelta(days=30))
    assert (raw.resolution, raw.buckets, len(raw.points)) == ("raw", (), 82)


@pytest.mark.django_db
@pytest.mark.parametrize("max_points", [2, 400])  # by day (three readings on two days); every reading
def test_the_period_runs_from_its_first_to_its_last_reading_to_the_microsecond(max_points):
    """What the chart's text and the access log say was shown: the database hands each day's first
    and last time over as microseconds since 1970, and they must come back exact."""
    times = [
        dt.datetime(2026, 3, 1, 0, 0, 0, 1, tzinfo=OSLO),  # a microsecond past local midnight
        dt.datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=OSLO),
        dt.datetime(2026, 3, 9, 12, 30, 15, 123457, tzinfo=OSLO),
    ]
    store([measurement(kind="heart_rate", effective=at, value=70) for at in times])
    found = charts.series(_qs(), kind="heart_rate", start=None, end=NOW, max_points=max_points)
    assert found.resolution == ("day" if max_points == 2 else "raw")
    assert (found.first, found.last) == (times[0], times[-1])
    assert found.first.utcoffset() == dt.timedelta(0)  # as the database's other times come
    empty = charts.series(_qs(), kind="glucose", start=None, end=NOW, max_points=max_points)
    assert (empty.first, empty.last, empty.days) == (None, None, ())


@pytest.mark.django_db
def test_a_municipality_range_on_a_reading_decides_whether_it_lies_outside():
    """The database counts a reading outside its own range (reference range, or the ranges per
    part) as ``Reading.state`` does, falling back to the default range."""
    own = measurement(kind="heart_rate", effective=_at(0), value=95)
    own.reference_low, own.reference_high = 40, 90  # 95 is high for this patient, inside the default 50–100
    pair = measurement(kind="blood_pressure", effective=_at(1), systolic=150, diastolic=70)
    pair.ranges = {"systolic": [100, 160]}  # 150 inside its own range; diastolic 70 inside the default
    low = measurement(kind="blood_pressure", effective=_at(2), systolic=85, diastolic=45)  # both below default
    store([own, measurement(kind="heart_rate", effective=_at(1), value=99), pair, low])
    for kind in ("heart_rate", "blood_pressure"):
        found = charts.series(_qs(), kind=kind, start=None, end=NOW + dt.timedelta(days=1), max_points=0)
        below = {p: sum(b.below.get(p, 0) for b in found.buckets) for p in found.parts}
        above = {p: sum(b.above.get(p, 0) for b in found.buckets) for p in found.parts}
        exact = charts.readings(_qs(), kind=kind)
        assert below == {p: sum(r.state(p) == "low" for r in exact) for p in found.parts}
        assert above == {p: sum(r.state(p) == "high" for r in exact) for p in found.parts}
    assert (below, above) == ({"systolic": 1, "diastolic": 1}, {"systolic": 0, "diastolic": 0})


def test_many_days_are_aggregated_by_week():
    first = dt.date(2024, 1, 1)
    days = [
        charts.Day(first + dt.timedelta(days=d), 1, False, {"value": charts.PartDay(1, 70, 70, 70)}) for d in range(500)
    ]
    assert charts.resolution_for(500, len(days), max_points=400) == "week"
    buckets = charts.aggregate(days, ("value",), "week")
    assert len(buckets) == 72 and all(timezone.localtime(b.start).weekday() == 0 for b in buckets)
    assert sum(b.readings for b in buckets) == 500 and buckets[1].mean == {"value": 70}


@pytest.mark.django_db
@pytest.mark.parametrize("page_size", [1, 2, 10])
@pytest.mark.parametrize("page", [1, 2])
def test_the_aggregated_chart_finds_the_newest_reading_and_the_newest_with_ranges(page_size, page):
    """Whether the table's page holds them or a query finds them, the same two readings."""
    rows = [measurement(kind="heart_rate", effective=_at(d), value=70 + d) for d in range(5)]
    for older in rows[2:]:
        older.reference_low, older.reference_high = 40, 90
    store(rows)
    found = charts.series(_qs(), kind="heart_rate", start=None, end=NOW, max_points=0, page=page, page_size=page_size)
    assert found.resolution != "raw"
    assert (found.latest.effective, found.latest.values) == (_at(0), {"value": 70})
    assert (found.planned.effective, found.planned.values) == (_at(2), {"value": 72})
    shown = found.ranges["value"]
    assert (shown.low, shown.high, shown.source) == (40, 90, "municipality")


@pytest.mark.django_db
def test_without_ranges_the_aggregated_chart_needs_no_query_for_the_newest():
    store([measurement(kind="heart_rate", effective=_at(d), value=70 + d) for d in range(5)])
    with CaptureQueriesContext(connection) as queries:
        found = charts.series(_qs(), kind="heart_rate", start=None, end=NOW, max_points=0, page_size=2)
    assert len(queries) == 2  # the days and the table's page
    assert (found.latest.effective, found.planned) == (_at(0), None)
    assert not any(d.ranged for d in found.days)


def test_a_day_bucket_is_its_day_rolled_up_alone():
    """Daily buckets are built straight from each day; a week holding only that day rolls up the same."""
    parts = ("systolic", "diastolic")
    days = [
        charts.Day(
            dt.date(2024, 3, 4) + dt.timedelta(weeks=w),
            3,
            w % 2 == 1,
            {"systolic": charts.PartDay(3, 400.5, 120, 150, 0, 1)}
            | ({"diastolic": charts.PartDay(2, 161, 70, 91, 1, 0)} if w % 3 else {}),
        )
        for w in range(6)
    ]
    daily, weekly = charts.aggregate(days, parts, "day"), charts.aggregate(days, parts, "week")
    assert daily == weekly  # each day a Monday in a week of its own
    assert daily[0].mean == {"systolic": 133.5} and daily[1].below == {"systolic": 0, "diastolic": 1}


@pytest.mark.django_db
def test_a_corrected_measurement_is_marked_even_when_its_status_stays_final():
    corrected = measurement(kind="heart_rate", effective=_at(0), value=72)
    corrected.version = 2  # ingest replaced the value first sent (the earlier one is a MeasurementVersion)
    store([measurement(kind="heart_rate", effective=_at(1), value=70), corrected])
    first, second = charts.readings(_qs(), kind="heart_rate")
    assert (first.amended, second.amended) == (False, True)
    [pulse] = reads.overview(_qs(), now=NOW).kinds
    assert pulse.latest.amended
