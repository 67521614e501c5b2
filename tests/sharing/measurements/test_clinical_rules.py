"""Thresholds per patient, trend rules and what the municipality's system said, on clinical cases
(docs/clinician.md, "Thresholds" and "Trends"; docs/ingest.md, "Context kept")."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sharing.measurements import overview as reads
from sharing.measurements import thresholds, trends
from sharing.measurements.models import Measurement
from tests.portal.clinician.factories import KARI, measurement, store
from tests.sharing.fhir.observation.builders import LOINC, SCT, UCUM, blood_pressure, heart_rate, ok, quantity

OSLO = ZoneInfo("Europe/Oslo")
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=OSLO)
TODAY = NOW.date()
MEANING = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"


def _at(days_ago: float, hour: int = 8) -> dt.datetime:
    return dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(hour), tzinfo=OSLO)


def _days(*values: float, end: dt.date = TODAY) -> dict[dt.date, float]:
    """Daily values, the last on `end`."""
    return {end - dt.timedelta(days=len(values) - 1 - i): v for i, v in enumerate(values)}


def _overview(*rows: Measurement) -> dict[str, reads.KindSummary]:
    store(rows)
    return {k.kind: k for k in reads.overview(Measurement.objects.for_patient(KARI), now=NOW).kinds}


def _codes(summary: reads.KindSummary) -> list[str]:
    return [a.code for a in summary.alerts]


# --- trends.py: each rule on its own ----------------------------------------------------------


def test_heart_failure_weight_gain_of_two_kilos_in_three_days():
    # Kari: 80.0 on Monday, 82.1 on Thursday morning: contact the heart-failure clinic.
    assert trends.weight_gain(82.1, TODAY, _days(80.0, 80.6, 81.3, 82.1)) == trends.Alert("weight-gain", 2.1)
    # The same 2 kg over five days is slower than the rule (watched through the 7-day mean instead).
    assert trends.weight_gain(82.0, TODAY, _days(80.0, 80.5, 81.0, 81.4, 81.7, 82.0)) is None


def test_seven_day_mean_outside_the_range_flags_what_single_readings_hide():
    home = thresholds.DEFAULT_RANGES[("blood_pressure", "systolic")]
    assert trends.mean_outside(142.0, home, "systolic") == trends.Alert("mean-high", 142.0, "systolic")
    assert trends.mean_outside(134.0, home, "systolic") is None
    assert trends.mean_outside(None, home) is None


def test_news2_rising_against_the_week_before():
    assert trends.news2_rising(4, TODAY, _days(1, 1, 2, 1, 1, 0, 1, 4)) == trends.Alert("news2-rising", 3.0)
    assert trends.news2_rising(2, TODAY, _days(1, 1, 2, 1, 1, 0, 1, 2)) is None  # +1: noise
    assert trends.news2_rising(5, TODAY, {TODAY: 5}) is None  # no week before to compare with


def test_copd_spo2_falling_three_points_within_scale_2():
    # Per: 91 % for a week, then 88, 87, 87: still inside 88–92 on some days, but falling by 4.
    daily = _days(91, 91, 90, 91, 92, 91, 90, 88, 87, 87)
    assert trends.spo2_falling(TODAY, daily) == trends.Alert("spo2-falling", 3.5)
    assert trends.spo2_falling(TODAY, _days(91, 91, 90, 91, 92, 91, 90, 90, 89, 90)) is None


# --- thresholds.py ----------------------------------------------------------------------------


def test_home_blood_pressure_limits_are_135_over_85():
    systolic = thresholds.DEFAULT_RANGES[("blood_pressure", "systolic")]
    diastolic = thresholds.DEFAULT_RANGES[("blood_pressure", "diastolic")]
    assert (systolic.state(138), diastolic.state(86)) == ("high", "high")  # inside the office limits 140/90
    assert (systolic.state(135), diastolic.state(85)) == (None, None)


def test_spo2_scale_follows_the_municipalitys_range():
    assert thresholds.DEFAULT_RANGES[("oxygen_saturation", "value")] == thresholds.Range(96, None, scale=1)
    assert thresholds.own_range("oxygen_saturation", 88, 92) == thresholds.Range(88, 92, "municipality", 2)
    assert thresholds.own_range("oxygen_saturation", 94, 98) == thresholds.Range(94, 98, "municipality", 1)
    assert thresholds.own_range("heart_rate", None, None) is None


@pytest.mark.parametrize(("code", "text", "alert"), [("A", "Alert", False), ("5", "Våken", False), ("C", "", True),
                                                     ("", "Confusion", True), ("U", "Unresponsive", True)])  # fmt: skip
def test_acvpu_other_than_alert_is_flagged(code, text, alert):
    assert thresholds.consciousness_alert(code, text) is alert


# --- the overview: per-patient thresholds and alerts together ---------------------------------


@pytest.mark.django_db
def test_copd_patient_is_judged_by_the_municipalitys_scale_2_range():
    rows = [measurement(kind="oxygen_saturation", effective=_at(d), value=91, reference=(88, 92)) for d in range(3, 10)]
    # The newest reading carries no range: the plan's range from the days before still applies.
    rows.append(measurement(kind="oxygen_saturation", effective=_at(0), value=90))
    spo2 = _overview(*rows)["oxygen_saturation"]
    assert (spo2.parts[0].range, spo2.parts[0].state) == (thresholds.Range(88, 92, "municipality", 2), None)


@pytest.mark.django_db
def test_without_a_plan_spo2_90_is_low_on_scale_1():
    spo2 = _overview(measurement(kind="oxygen_saturation", effective=_at(0), value=90))["oxygen_saturation"]
    assert (spo2.parts[0].range.source, spo2.parts[0].state) == ("default", "low")


@pytest.mark.django_db
def test_blood_pressure_component_ranges_from_the_municipality():
    rows = [measurement(kind="blood_pressure", effective=_at(d), systolic=134, diastolic=79) for d in range(5)]
    for row in rows:
        row.ranges = {"systolic": [100, 130], "diastolic": [60, 80]}
    bp = _overview(*rows)["blood_pressure"]
    assert [(p.range.high, p.range.source, p.state) for p in bp.parts] == [
        (130, "municipality", "high"),
        (80, "municipality", None),
    ]
    assert _codes(bp) == ["mean-high"]


@pytest.mark.django_db
def test_decompensating_heart_failure_raises_weight_and_blood_pressure_alerts():
    weights = [80.0, 80.1, 80.0, 80.2, 80.1, 80.0, 80.1, 80.2, 80.9, 81.6, 82.3]
    bps = [(128, 78)] * 4 + [(140, 86), (144, 88), (146, 86), (141, 84), (139, 83), (145, 87), (143, 85)]
    rows = [
        measurement(kind="body_weight", effective=_at(len(weights) - 1 - i), value=w) for i, w in enumerate(weights)
    ]
    rows += [
        measurement(kind="blood_pressure", effective=_at(len(bps) - 1 - i), systolic=s, diastolic=d)
        for i, (s, d) in enumerate(bps)
    ]
    found = _overview(*rows)
    assert _codes(found["body_weight"]) == ["weight-gain"]
    # 7-day means 142.6/85.6: both above the home limits, though single readings dip below them.
    assert [(a.code, a.part) for a in found["blood_pressure"].alerts] == [
        ("mean-high", "systolic"),
        ("mean-high", "diastolic"),
    ]
    assert found["blood_pressure"].parts[0].state == "high"  # 143 > 135 (home limit)


@pytest.mark.django_db
def test_copd_exacerbation_raises_news2_and_spo2_alerts():
    spo2 = [91, 91, 90, 91, 92, 91, 90, 88, 87, 86]
    news2 = [1, 1, 0, 1, 1, 1, 1, 3, 4, 5]
    rows = [
        measurement(kind="oxygen_saturation", effective=_at(len(spo2) - 1 - i), value=v, reference=(88, 92))
        for i, v in enumerate(spo2)
    ]
    rows += [measurement(kind="news2", effective=_at(len(news2) - 1 - i), value=v) for i, v in enumerate(news2)]
    found = _overview(*rows)
    assert _codes(found["oxygen_saturation"]) == ["spo2-falling"]
    assert found["oxygen_saturation"].parts[0].state == "low"  # 86 < 88, the plan's lower limit
    assert _codes(found["news2"]) == ["news2-rising"]  # 5 against a mean of 1.6 the week before


@pytest.mark.django_db
def test_acvpu_confusion_is_an_alert_on_the_card():
    row = measurement(kind="consciousness", effective=_at(0))
    row.value_code, row.value_display = "C", "Confusion"
    assert _codes(_overview(row)["consciousness"]) == ["acvpu-not-alert"]


# --- ingest keeps what the municipality's system said (context.py) -----------------------------


def _range(low, high, code=None, applies=False, unit="%"):
    rr = {"low": {"value": low, "unit": unit, "system": UCUM, "code": unit},
          "high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}  # fmt: skip
    if code:
        rr["type"] = {"coding": [{"system": MEANING, "code": code}]}
    if applies:
        rr["appliesTo"] = [{"text": "Voksne"}]
    return rr


def test_the_patients_own_range_is_chosen_over_population_and_alarm_ranges():
    spo2 = quantity(LOINC, "2708-6", 90, "%")
    spo2["referenceRange"] = [_range(94, 98, applies=True), _range(80, 100, "HH"), _range(88, 92, "treatment")]
    assert (ok(spo2).reference_low, ok(spo2).reference_high) == (88, 92)
    spo2["referenceRange"] = [_range(94, 98, applies=True)]  # a population's range only: none of the patient's
    assert (ok(spo2).reference_low, ok(spo2).reference_high) == (None, None)


def test_blood_pressure_component_ranges_interpretation_note_and_device_are_kept():
    bp = blood_pressure(134, 79)
    bp["component"][0]["referenceRange"] = [_range(100, 130, "treatment", unit="mm[Hg]")]
    bp["component"][1]["referenceRange"] = [_range(60, 80, unit="mm[Hg]")]
    bp["interpretation"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                         "code": "H"}], "text": "Gul"}]  # fmt: skip
    bp["note"] = [{"text": "Målt etter trappa"}, {"text": "Hodepine"}]
    bp["device"] = {"display": "Omron M7 Intelli IT"}
    result = ok(bp)
    assert result.ranges == {"systolic": [100, 130], "diastolic": [60, 80]}
    assert (result.interpretation, result.note, result.device) == (
        "H",
        "Målt etter trappa / Hodepine",
        "Omron M7 Intelli IT",
    )
    assert result.flags == ()


def test_a_device_known_only_by_identifier():
    hr = heart_rate(device={"identifier": {"system": "urn:dignio", "value": "SN-4711"}})
    assert ok(hr).device == "SN-4711"
    assert ok(heart_rate()).device == ""


def test_interpretation_without_the_standard_system_is_kept_by_code():
    hr = heart_rate(interpretation=[{"coding": [{"system": SCT, "code": "281302008"}]}])
    assert ok(hr).interpretation == "281302008"
