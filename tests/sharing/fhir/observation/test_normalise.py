"""Accepted observations: every profile, unit conversions, time handling and each warning flag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sharing.core.kinds import Kind

from .builders import (
    FNR,
    LOINC,
    NPU,
    PATIENT_FNR,
    SCT,
    UCUM,
    VALID_ORGNR,
    blood_pressure,
    component,
    errors,
    heart_rate,
    ok,
    quantity,
    rejected,
    score,
)


def test_valid_heart_rate_has_no_warnings() -> None:
    result = ok(heart_rate())
    assert result.warnings == () and result.flags == ()
    assert (result.kind, result.value, result.unit, result.status) == (Kind.HEART_RATE, 72.0, "/min", "final")
    assert (result.code_system, result.code, result.code_display) == (LOINC, "8867-4", "Heart rate")
    assert (result.patient_system, result.patient_value, result.patient_display) == (FNR, PATIENT_FNR, "Test Testesen")
    assert result.effective == datetime(2026, 3, 20, 7, 30, tzinfo=UTC)
    assert result.effective_end is None
    assert result.source_identifier == "https://kommune.example/dho/observation|obs-1"
    assert result.resource_id == "hr-1"
    assert result.performer_orgnrs == ()
    assert len(result.content_hash) == 64


def test_input_is_not_modified() -> None:
    resource = heart_rate(effectiveDateTime="2026-03-20T08:30:00")
    before = repr(resource)
    ok(resource)
    assert repr(resource) == before


@pytest.mark.parametrize(
    ("system", "code", "value", "unit", "kind", "expected", "canonical"),
    [
        (LOINC, "8867-4", 61, "/min", Kind.HEART_RATE, 61, "/min"),
        (SCT, "364075005", 61, "/MIN", Kind.HEART_RATE, 61, "/min"),
        (LOINC, "2708-6", 97, "%", Kind.OXYGEN_SATURATION, 97, "%"),
        (SCT, "431314004", 97, "%", Kind.OXYGEN_SATURATION, 97, "%"),
        (LOINC, "8310-5", 37.2, "Cel", Kind.BODY_TEMPERATURE, 37.2, "Cel"),
        (LOINC, "8310-5", 37.2, "cel", Kind.BODY_TEMPERATURE, 37.2, "Cel"),
        (LOINC, "8310-5", 98.6, "[degF]", Kind.BODY_TEMPERATURE, 37.0, "Cel"),
        (SCT, "276885007", 100.4, "[DEGF]", Kind.BODY_TEMPERATURE, 38.0, "Cel"),
        (LOINC, "29463-7", 72.5, "kg", Kind.BODY_WEIGHT, 72.5, "kg"),
        (LOINC, "29463-7", 72.5, "KG", Kind.BODY_WEIGHT, 72.5, "kg"),
        (LOINC, "29463-7", 49000, "g", Kind.BODY_WEIGHT, 49.0, "kg"),
        (SCT, "27113001", 150, "[lb_av]", Kind.BODY_WEIGHT, 68.0389, "kg"),
        (LOINC, "9279-1", 16, "/min", Kind.RESPIRATORY_RATE, 16, "/min"),
        (SCT, "86290005", 16, "/min", Kind.RESPIRATORY_RATE, 16, "/min"),
    ],
)
def test_vital_sign_profiles_and_conversions(
    system: str, code: str, value: float, unit: str, kind: Kind, expected: float, canonical: str
) -> None:
    result = ok(quantity(system, code, value, unit))
    assert (result.kind, result.value, result.unit, result.flags) == (kind, expected, canonical, ())


@pytest.mark.parametrize("unit", ["mmol/L", "mmol/l", "MMOL/L"])
@pytest.mark.parametrize(("system", "code"), [(LOINC, "15074-8"), (SCT, "434912009"), (NPU, "NPU02187")])
def test_glucose_by_any_of_its_codes(system: str, code: str, unit: str) -> None:
    result = ok(quantity(system, code, 6.3, unit, vital=False))
    assert (result.kind, result.value, result.unit, result.code) == (Kind.GLUCOSE, 6.3, "mmol/L", code)
    assert result.performer_orgnrs == (VALID_ORGNR,)


def test_identifying_coding_prefers_loinc_then_snomed_then_npu() -> None:
    resource = quantity(NPU, "NPU02187", 5, "mmol/L", vital=False)
    resource["code"]["coding"] = [
        {"system": NPU, "code": "NPU02187"},
        {"system": "http://example.org/local", "code": "glu"},
        {"system": SCT, "code": "434912009", "display": "Blood glucose"},
    ]
    assert (ok(resource).code_system, ok(resource).code_display) == (SCT, "Blood glucose")


def test_questionnaire_score() -> None:
    result = ok(quantity(LOINC, "74465-6", 14, None, vital=False))
    assert (result.kind, result.value, result.unit) == (Kind.QUESTIONNAIRE_SCORE, 14.0, "")


def test_blood_pressure_from_components() -> None:
    result = ok(blood_pressure(128, 82, component(LOINC, "8478-0", 97), component(SCT, "87179004", 46)))
    assert (result.kind, result.value, result.unit, result.flags) == (Kind.BLOOD_PRESSURE, None, "mm[Hg]", ())
    assert result.components == {"systolic": 128, "diastolic": 82, "mean_arterial": 97, "pulse_pressure": 46}


def test_blood_pressure_by_snomed_codes_and_unit_case() -> None:
    resource = blood_pressure()
    resource["code"] = {"coding": [{"system": SCT, "code": "75367002"}]}
    resource["component"] = [component(SCT, "271649006", 131, "mm[hg]"), component(SCT, "271650006", 79, "MM[HG]")]
    assert ok(resource).components == {"systolic": 131, "diastolic": 79}


def test_cfs_score() -> None:
    result = ok(score("763264000", 4))
    assert (result.kind, result.value, result.unit, result.flags) == (Kind.CFS, 4.0, "", ())


def test_cfs_as_value_integer() -> None:
    resource = score("763264000", 4)
    resource["valueInteger"] = resource.pop("valueQuantity")["value"]
    assert ok(resource).value == 4.0


def test_news2_with_sub_scores_as_quantity_or_integer() -> None:
    subs = [
        "1104301000000104",
        "1104321000000108",
        "1104331000000105",
        "1104351000000103",
        "1104341000000101",
        "1104361000000100",
        "1104371000000107",
    ]
    parts = [component(SCT, code, 1, unit=None) for code in subs]
    parts[2] = {"code": {"coding": [{"system": SCT, "code": subs[2]}]}, "valueInteger": 2}
    result = ok(score("1104051000000101", 8, component=parts))
    assert result.kind is Kind.NEWS2 and result.value == 8.0 and result.flags == ()
    assert result.components["air_or_oxygen"] == 2 and len(result.components) == 7


def test_news2_sum_mismatch_is_flagged() -> None:
    subs = [
        "1104301000000104",
        "1104321000000108",
        "1104331000000105",
        "1104351000000103",
        "1104341000000101",
        "1104361000000100",
        "1104371000000107",
    ]
    result = ok(score("1104051000000101", 9, component=[component(SCT, c, 1, unit=None) for c in subs]))
    assert result.flags == ("news2-sum-mismatch",)


def test_consciousness_coded_value() -> None:
    resource = score("1104441000000107", 0)
    del resource["valueQuantity"]
    resource["valueCodeableConcept"] = {"coding": [{"system": SCT, "code": "248234008", "display": "Alert"}]}
    result = ok(resource)
    assert (result.kind, result.value, result.unit) == (Kind.CONSCIOUSNESS, None, "")
    assert (result.value_code, result.value_display) == ("248234008", "Alert")


@pytest.mark.parametrize(
    ("value_key", "value", "expected"),
    [
        ("valueQuantity", {"value": 156, "unit": "cm", "system": UCUM, "code": "Cm"}, (156.0, "Cm", "", "")),
        ("valueInteger", 3, (3.0, "", "", "")),
        ("valueCodeableConcept", {"text": "positiv"}, (None, "", "", "positiv")),
        ("valueString", "litt tungpust", (None, "", "", "litt tungpust")),
        ("valueBoolean", False, (None, "", "false", "")),
    ],
)
def test_unprofiled_code_is_kind_other_with_value_as_sent(value_key: str, value: Any, expected: tuple) -> None:
    resource = heart_rate(code={"coding": [{"system": LOINC, "code": "8302-2", "display": "Body height"}]})
    del resource["valueQuantity"], resource["meta"]
    resource[value_key] = value
    result = ok(resource)
    assert result.kind is Kind.OTHER and (result.code, result.code_display) == ("8302-2", "Body height")
    assert (result.value, result.unit, result.value_code, result.value_display) == expected
    assert result.flags == ()


def test_other_kind_with_local_code_system() -> None:
    resource = quantity("http://kommune.example/codes", "steps", 5000, "{steps}")
    result = ok(resource)
    assert (result.kind, result.code_system, result.code, result.unit) == (
        Kind.OTHER,
        "http://kommune.example/codes",
        "steps",
        "{steps}",
    )


# --- time ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "utc"),
    [
        ("2026-03-20", datetime(2026, 3, 19, 23, 0, tzinfo=UTC)),  # Oslo midnight, winter time
        ("2025-07-01", datetime(2025, 6, 30, 22, 0, tzinfo=UTC)),  # Oslo midnight, summer time
        ("2026-03-20T08:30:00Z", datetime(2026, 3, 20, 8, 30, tzinfo=UTC)),
        ("2026-03-20T08:30:00.123456789-02:30", datetime(2026, 3, 20, 11, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_effective_date_time(sent: str, utc: datetime) -> None:
    result = ok(heart_rate(effectiveDateTime=sent))
    assert result.effective == utc and result.flags == ()


@pytest.mark.parametrize(
    ("sent", "utc"),
    [
        ("2026-03-20T08:30:00", datetime(2026, 3, 20, 7, 30, tzinfo=UTC)),
        ("2025-07-01T08:30:00", datetime(2025, 7, 1, 6, 30, tzinfo=UTC)),
        ("2026-03-20T08:30", datetime(2026, 3, 20, 7, 30, tzinfo=UTC)),
    ],
)
def test_time_without_offset_is_oslo_time_and_flagged(sent: str, utc: datetime) -> None:
    result = ok(heart_rate(effectiveDateTime=sent))
    assert result.effective == utc and result.flags == ("effective-no-offset",)


def test_period() -> None:
    resource = heart_rate(effectivePeriod={"start": "2026-03-20T08:00:00+01:00", "end": "2026-03-20T08:10:00+01:00"})
    del resource["effectiveDateTime"]
    result = ok(resource)
    assert result.effective == datetime(2026, 3, 20, 7, 0, tzinfo=UTC)
    assert result.effective_end == datetime(2026, 3, 20, 7, 10, tzinfo=UTC)


def test_open_period() -> None:
    resource = heart_rate(effectivePeriod={"start": "2026-03-20T08:00:00+01:00"})
    del resource["effectiveDateTime"]
    assert ok(resource).effective_end is None


def test_effective_instant_on_a_vital_sign_is_flagged() -> None:
    resource = heart_rate(effectiveInstant="2026-03-20T08:30:00.000+01:00")
    del resource["effectiveDateTime"]
    result = ok(resource)
    assert result.effective == datetime(2026, 3, 20, 7, 30, tzinfo=UTC)
    assert result.flags == ("effective-instant",)


def test_effective_instant_on_a_score_is_fine() -> None:
    resource = score("763264000", 3, effectiveInstant="2026-03-20T08:30:00Z")
    del resource["effectiveDateTime"]
    assert ok(resource).flags == ()


@pytest.mark.parametrize("empty", ["", "  ", None])
def test_empty_effective_on_a_score_falls_back_to_issued(empty: Any) -> None:
    resource = score("763264000", 3, effectiveDateTime=empty, issued="2026-03-20T09:00:00+01:00")
    result = ok(resource)
    assert result.effective == datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
    assert result.flags == ("effective-empty", "effective-from-issued")


def test_empty_effective_on_a_vital_sign_is_rejected_but_flagged() -> None:
    exc = rejected(heart_rate(effectiveDateTime=""))
    assert errors(exc) == [("required", "Observation.effective[x]")]
    assert [i.flag for i in exc.issues if i.severity == "warning"] == ["effective-empty"]


def test_month_precision_on_a_score_is_flagged() -> None:
    result = ok(score("763264000", 3, effectiveDateTime="2026-02"))
    assert result.effective == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    assert result.flags == ("effective-imprecise",)
