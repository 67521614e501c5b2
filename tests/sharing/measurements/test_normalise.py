"""Accepted observations: every profile, unit conversions, time handling and each warning flag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sharing.measurements.kinds import Kind
from sharing.measurements.normalise import Issue

from .builders import (
    BAD_CHECKSUM_FNR,
    CATEGORY,
    DNR,
    FNR,
    HER,
    INVALID_ORGNR,
    LOINC,
    NPU,
    ORGNR,
    PATIENT_DNR,
    PATIENT_FNR,
    SCT,
    UCUM,
    VALID_ORGNR,
    blood_pressure,
    component,
    heart_rate,
    ok,
    quantity,
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
)  # fmt: skip
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
    subs = ["1104301000000104", "1104321000000108", "1104331000000105", "1104351000000103", "1104341000000101",
            "1104361000000100", "1104371000000107"]  # fmt: skip
    parts = [component(SCT, code, 1, unit=None) for code in subs]
    parts[2] = {"code": {"coding": [{"system": SCT, "code": subs[2]}]}, "valueInteger": 2}
    result = ok(score("1104051000000101", 8, component=parts))
    assert result.kind is Kind.NEWS2 and result.value == 8.0 and result.flags == ()
    assert result.components["air_or_oxygen"] == 2 and len(result.components) == 7


def test_news2_sum_mismatch_is_flagged() -> None:
    subs = ["1104301000000104", "1104321000000108", "1104331000000105", "1104351000000103", "1104341000000101",
            "1104361000000100", "1104371000000107"]  # fmt: skip
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
        Kind.OTHER, "http://kommune.example/codes", "steps", "{steps}",
    )  # fmt: skip


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
    from .builders import errors, rejected

    exc = rejected(heart_rate(effectiveDateTime=""))
    assert errors(exc) == [("required", "Observation.effective[x]")]
    assert [i.flag for i in exc.issues if i.severity == "warning"] == ["effective-empty"]


def test_month_precision_on_a_score_is_flagged() -> None:
    result = ok(score("763264000", 3, effectiveDateTime="2026-02"))
    assert result.effective == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    assert result.flags == ("effective-imprecise",)


# --- warning flags -------------------------------------------------------------------------


def _flags(resource: dict[str, Any]) -> tuple[str, ...]:
    return ok(resource).flags


@pytest.mark.parametrize(("system", "value"), [(FNR, BAD_CHECKSUM_FNR), (FNR, "1000239"), (FNR, PATIENT_DNR),
                                               (DNR, PATIENT_FNR), (FNR, "15881540013")])  # fmt: skip
def test_upstream_id_invalid(system: str, value: str) -> None:
    resource = heart_rate()
    resource["subject"]["identifier"] = {"system": system, "value": value}
    result = ok(resource)
    assert result.flags == ("upstream-id-invalid",)
    assert result.patient_value == value
    assert value not in result.warnings[0].diagnostics


def test_valid_dnr_and_spaced_fnr_are_normalised() -> None:
    resource = heart_rate()
    resource["subject"]["identifier"] = {"system": DNR, "value": PATIENT_DNR}
    assert ok(resource).patient_value == PATIENT_DNR
    resource["subject"]["identifier"] = {"system": FNR, "value": "158885 40013"}
    assert ok(resource).patient_value == PATIENT_FNR and ok(resource).flags == ()


def test_missing_category() -> None:
    assert _flags(heart_rate(category=[{"coding": [{"system": CATEGORY, "code": "survey"}]}])) == ("missing-category",)
    resource = heart_rate()
    del resource["category"]
    assert _flags(resource) == ("missing-category",)


@pytest.mark.parametrize("status", ["registered", "preliminary"])
def test_status_preliminary(status: str) -> None:
    assert _flags(heart_rate(status=status)) == ("status-preliminary",)


@pytest.mark.parametrize("status", ["final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"])
def test_other_statuses_are_stored_as_sent(status: str) -> None:
    result = ok(heart_rate(status=status))
    assert result.status == status and result.flags == ()


@pytest.mark.parametrize(
    "url",
    ["http://ehelse.no/fhir/StructureDefinition/vkp-Observation-Heartrate",
     "http://hl7.no/fhir/StructureDefinition/vkp-Observation-Heartrate"],
)  # fmt: skip
def test_legacy_profile_url(url: str) -> None:
    assert _flags(heart_rate(meta={"profile": [url]})) == ("legacy-profile-url",)


def test_profile_claim_contradicting_the_code() -> None:
    resource = heart_rate(meta={"profile": ["http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-Bodytemp"]})
    assert _flags(resource) == ("profile-mismatch",)


def test_classification_ignores_meta_profile() -> None:
    resource = quantity(LOINC, "8310-5", 37, "Cel")
    resource["meta"] = {"profile": ["http://ehelse.no/fhir/StructureDefinition/vkp-Observation-Heartrate"]}
    result = ok(resource)
    assert result.kind is Kind.BODY_TEMPERATURE
    assert result.flags == ("legacy-profile-url", "profile-mismatch")


def test_missing_subject_display() -> None:
    resource = heart_rate()
    del resource["subject"]["display"]
    assert _flags(resource) == ("missing-subject-display",)


@pytest.mark.parametrize("system", [HER, ORGNR, "urn:oid:2.16.578.1.12.4.1.4.4", "urn:oid:1.3.6.1.4.1.9038.51.1"])
def test_performer_identifier_system_outside_vital_sign_value_set(system: str) -> None:
    resource = heart_rate(performer=[{"identifier": {"system": system, "value": VALID_ORGNR}}])
    assert _flags(resource) == ("performer-identifier-system",)


def test_base_profile_performers_may_be_fnr_orgnr_or_resh() -> None:
    performers = [{"identifier": {"system": s, "value": VALID_ORGNR}} for s in (FNR, ORGNR, "urn:oid:2.16.578.1.12.4.1.4.102")]
    assert _flags(score("763264000", 3, performer=performers)) == ()
    assert _flags(score("763264000", 3, performer=[{"identifier": {"system": HER, "value": "1"}}])) == (
        "performer-identifier-system",
    )


def test_performer_orgnr_invalid_is_flagged_and_not_used() -> None:
    result = ok(score("763264000", 3, performer=[{"identifier": {"system": ORGNR, "value": INVALID_ORGNR}}]))
    assert result.flags == ("performer-orgnr-invalid",) and result.performer_orgnrs == ()


def test_data_absent() -> None:
    resource = heart_rate(dataAbsentReason={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "error"}]})
    del resource["valueQuantity"]
    result = ok(resource)
    assert (result.value, result.unit, result.data_absent_reason, result.flags) == (None, "/min", "error", ("data-absent",))


def test_value_comparator() -> None:
    resource = heart_rate()
    resource["valueQuantity"]["comparator"] = "<"
    assert _flags(resource) == ("value-comparator",)


@pytest.mark.parametrize("drop", ["system", "unit", "code"])
def test_quantity_incomplete(drop: str) -> None:
    resource = heart_rate()
    del resource["valueQuantity"][drop]
    result = ok(resource)
    assert result.flags == ("quantity-incomplete",) and result.unit == "/min"


def test_value_on_blood_pressure_is_ignored() -> None:
    resource = blood_pressure(valueQuantity := None) if False else blood_pressure()
    resource["valueQuantity"] = {"value": 120, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}
    result = ok(resource)
    assert result.flags == ("value-ignored",) and result.value is None


def test_unknown_and_valueless_components() -> None:
    resource = blood_pressure(120, 80, component("http://acme.org", "bp-x", 1), {"code": {"coding": [{"system": LOINC, "code": "8478-0"}]}})
    result = ok(resource)
    assert result.flags == ("unknown-component", "component-no-value")
    assert result.components == {"systolic": 120, "diastolic": 80}


def test_components_on_kind_other_are_ignored() -> None:
    resource = quantity(LOINC, "8302-2", 180, "cm", component=[component(LOINC, "1234-5", 1)])
    assert _flags(resource) == ("components-ignored",)


def test_long_value_string_is_truncated() -> None:
    resource = heart_rate(code={"coding": [{"system": LOINC, "code": "8302-2"}]}, valueString="x" * 300)
    del resource["valueQuantity"], resource["meta"]
    result = ok(resource)
    assert result.flags == ("value-truncated",) and len(result.value_display) == 200


def test_reference_range_in_canonical_unit() -> None:
    resource = quantity(LOINC, "29463-7", 70000, "g")
    resource["referenceRange"] = [{"text": "no numbers"}, {"low": {"value": 60000}, "high": {"value": 80, "code": "kg"}}]
    result = ok(resource)
    assert (result.value, result.reference_low, result.reference_high) == (70.0, 60.0, 80.0)


def test_reference_range_in_a_bad_unit_is_dropped_and_flagged() -> None:
    resource = heart_rate(referenceRange=[{"low": {"value": 1, "code": "/s", "system": UCUM}}])
    result = ok(resource)
    assert (result.reference_low, result.reference_high, result.flags) == (None, None, ("reference-range-unit",))


def test_flags_are_unique_and_ordered() -> None:
    issue = Issue("warning", "value", "Observation.x", "d", "a")
    result = ok(heart_rate())
    other = type(result)(**{**result.__dict__, "warnings": (issue, issue, Issue("warning", "value", "x", "d", "b"))})
    assert other.flags == ("a", "b")


# --- content hash --------------------------------------------------------------------------


def test_content_hash_is_unit_independent_and_ignores_metadata() -> None:
    grams = quantity(LOINC, "29463-7", 72500, "g")
    kilos = quantity(SCT, "27113001", 72.5, "kg", id="other", identifier=[], status="amended")
    assert ok(grams).content_hash == ok(kilos).content_hash


@pytest.mark.parametrize(
    "change",
    [{"effectiveDateTime": "2026-03-20T08:31:00+01:00"}, {"valueQuantity": {"value": 73, "unit": "/min", "system": UCUM, "code": "/min"}},
     {"subject": {"identifier": {"system": FNR, "value": "01820355039"}, "display": "X"}}],
)  # fmt: skip
def test_content_hash_changes_with_the_measurement(change: dict[str, Any]) -> None:
    assert ok(heart_rate()).content_hash != ok(heart_rate(**change)).content_hash
