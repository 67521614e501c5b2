"""Each rejection rule, on small hand-built resources (docs/ingest.md, "Rejected")."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from .builders import (
    CATEGORY,
    LOINC,
    NOW,
    ORGNR,
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


def _only(resource: Any) -> tuple[str, str]:
    (error,) = errors(rejected(resource))
    return error


@pytest.mark.parametrize("resource", [None, [], "Observation", 5, b"{}", [heart_rate()]])
def test_not_a_json_object(resource: Any) -> None:
    assert _only(resource) == ("structure", "Observation")


def test_other_resource_type_is_not_supported() -> None:
    assert _only({"resourceType": "Bundle", "type": "batch"}) == ("not-supported", "Observation.resourceType")


def test_missing_resource_type() -> None:
    resource = heart_rate()
    del resource["resourceType"]
    assert _only(resource) == ("structure", "Observation.resourceType")


def test_unknown_element_is_structural() -> None:
    assert _only(heart_rate(foo=1)) == ("structure", "Observation.foo")


def test_missing_status_is_required() -> None:
    resource = heart_rate()
    del resource["status"]
    assert _only(resource) == ("required", "Observation.status")


def test_structural_error_paths_index_lists() -> None:
    resource = heart_rate(note=[{"text": "ok"}, {}])
    assert _only(resource) == ("required", "Observation.note[1].text")


def test_status_outside_r4_value_set() -> None:
    exc = rejected(heart_rate(status="done"))
    assert errors(exc) == [("code-invalid", "Observation.status")]
    assert "final" in exc.issues[0].diagnostics


@pytest.mark.parametrize(
    "subject",
    [
        None,
        {"reference": "Patient/123"},
        {"identifier": {"value": "15888540013"}},
        {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1"}},
    ],
)
def test_subject_needs_identifier_system_and_value(subject: Any) -> None:
    resource = heart_rate()
    if subject is None:
        del resource["subject"]
    else:
        resource["subject"] = subject
    assert _only(resource) == ("required", "Observation.subject.identifier")


@pytest.mark.parametrize(
    "system",
    ["http://dips.no/fhir/namingsystem/dips-patientid", "urn:oid:2.16.578.1.12.4.1.4.4", "urn:oid:2.16.578.1.12.4.1.2"],
)
def test_subject_system_outside_fnr_dnr_fhn(system: str) -> None:
    resource = heart_rate()
    resource["subject"]["identifier"]["system"] = system
    exc = rejected(resource)
    assert errors(exc) == [("code-invalid", "Observation.subject.identifier.system")]
    assert "urn:oid:2.16.578.1.12.4.1.4.1" in exc.issues[0].diagnostics


@pytest.mark.parametrize("code", [{"text": "puls"}, {"coding": [{"code": "8867-4"}]}, {"coding": [{"system": LOINC}]}])
def test_code_without_a_usable_coding(code: Any) -> None:
    assert _only(heart_rate(code=code)) == ("required", "Observation.code.coding")


def test_codes_naming_different_measurements() -> None:
    resource = heart_rate(code={"coding": [{"system": LOINC, "code": "8867-4"}, {"system": SCT, "code": "276885007"}]})
    assert _only(resource) == ("code-invalid", "Observation.code.coding")


def test_vital_sign_without_effective_time() -> None:
    resource = heart_rate()
    del resource["effectiveDateTime"]
    assert _only(resource) == ("required", "Observation.effective[x]")


def test_vital_sign_with_timing_only() -> None:
    resource = heart_rate(effectiveTiming={"event": ["2026-03-20T08:00:00+01:00"]})
    del resource["effectiveDateTime"]
    assert _only(resource) == ("required", "Observation.effective[x]")


def test_score_without_any_time() -> None:
    resource = score("763264000", 3)
    del resource["effectiveDateTime"]
    assert _only(resource) == ("required", "Observation.effective[x]")


@pytest.mark.parametrize("when", ["2026", "2026-03"])
def test_vs1_vital_sign_date_must_be_precise_to_the_day(when: str) -> None:
    assert _only(heart_rate(effectiveDateTime=when)) == ("value", "Observation.effectiveDateTime")


@pytest.mark.parametrize(
    "when",
    [
        "2026-02-30",
        "2026-13-01",
        "20260320",
        "2026-03-20T25:00:00Z",
        "2026-03-20T08:00:00+01:99",
        "0000-01-01",
        "yesterday",
        "2026-03-20T08:00:00+1:00",
        "٢٠٢٦-٠٣-٢٠",
    ],
)
def test_malformed_datetime(when: str) -> None:
    assert _only(heart_rate(effectiveDateTime=when)) == ("value", "Observation.effectiveDateTime")


def test_effective_datetime_must_be_a_string() -> None:
    assert _only(heart_rate(effectiveDateTime=20260320)) == ("structure", "Observation.effectiveDateTime")


def test_two_effective_choices() -> None:
    resource = heart_rate(effectiveInstant="2026-03-20T08:00:00Z")
    assert ("structure", "Observation.effective[x]") in errors(rejected(resource))


def test_period_ending_before_it_starts() -> None:
    resource = heart_rate(effectivePeriod={"start": "2026-03-20T08:00:00Z", "end": "2026-03-20T07:00:00Z"})
    del resource["effectiveDateTime"]
    assert _only(resource) == ("value", "Observation.effectivePeriod")


@pytest.mark.parametrize("period", [[], "2026-03-20", {"start": 5}, {"begin": "2026-03-20"}])
def test_malformed_period(period: Any) -> None:
    resource = heart_rate(effectivePeriod=period)
    del resource["effectiveDateTime"]
    assert _only(resource)[0] == "structure"


def test_future_effective_time_beyond_clock_skew() -> None:
    resource = heart_rate(effectiveDateTime=(NOW + timedelta(minutes=6)).isoformat())
    assert _only(resource) == ("business-rule", "Observation.effectiveDateTime")
    ok(heart_rate(effectiveDateTime=(NOW + timedelta(minutes=4)).isoformat()))
    ok(resource, clock_skew=timedelta(minutes=10))


def test_future_period_end() -> None:
    resource = heart_rate(effectivePeriod={"start": "2026-03-20T08:00:00Z", "end": "2026-03-21T08:00:00Z"})
    del resource["effectiveDateTime"]
    assert _only(resource) == ("business-rule", "Observation.effectivePeriod")


def test_tomorrow_as_a_date_is_future_but_today_is_not() -> None:
    assert _only(heart_rate(effectiveDateTime="2026-03-21")) == ("business-rule", "Observation.effectiveDateTime")
    ok(heart_rate(effectiveDateTime="2026-03-20"))


@pytest.mark.parametrize("value", ["abc", True, [], {"v": 1}])
def test_non_numeric_quantity_value(value: Any) -> None:
    resource = heart_rate()
    resource["valueQuantity"]["value"] = value
    code, expression = _only(resource)
    assert expression == "Observation.valueQuantity.value"
    assert code in ("value", "structure")


def test_quantity_without_value() -> None:
    resource = heart_rate()
    del resource["valueQuantity"]["value"]
    assert _only(resource) == ("required", "Observation.valueQuantity.value")


def test_overflowing_decimal_is_not_a_finite_number() -> None:
    resource = heart_rate()
    resource["valueQuantity"]["value"] = 10**400
    assert _only(resource) == ("value", "Observation.valueQuantity.value")


@pytest.mark.parametrize(
    ("code", "unit", "named"),
    [
        ("8867-4", "bpm", "/min"),
        ("8310-5", "K", "[degF]"),
        ("29463-7", "mg", "[lb_av]"),
        ("2708-6", "1", "%"),
        ("9279-1", "/s", "/min"),
    ],
)
def test_unknown_or_disallowed_unit_names_the_allowed_units(code: str, unit: str, named: str) -> None:
    exc = rejected(quantity(LOINC, code, 10, unit))
    assert errors(exc) == [("code-invalid", "Observation.valueQuantity.code")]
    assert named in exc.issues[0].diagnostics


def test_glucose_in_mg_per_dl_is_not_accepted() -> None:
    exc = rejected(quantity(LOINC, "15074-8", 110, "mg/dL", vital=False))
    assert "mmol/L" in exc.issues[0].diagnostics


def test_vital_sign_quantity_without_any_unit() -> None:
    resource = heart_rate()
    resource["valueQuantity"] = {"value": 72}
    assert _only(resource) == ("required", "Observation.valueQuantity.code")


def test_unit_on_a_score() -> None:
    resource = score("763264000", 3)
    resource["valueQuantity"].update(code="kg", unit="kg", system=UCUM)
    assert _only(resource) == ("code-invalid", "Observation.valueQuantity.code")


@pytest.mark.parametrize("value", [0, 10, 2.5, -1])
def test_cfs_outside_1_to_9_or_not_whole(value: Any) -> None:
    assert _only(score("763264000", value)) == ("value", "Observation.valueQuantity")


@pytest.mark.parametrize("value", [-1, 21])
def test_news2_total_outside_0_to_20(value: int) -> None:
    assert _only(score("1104051000000101", value)) == ("value", "Observation.valueQuantity")


def test_news2_sub_score_outside_0_to_3() -> None:
    resource = score("1104051000000101", 4, component=[component(SCT, "1104351000000103", 4, unit=None)])
    assert _only(resource) == ("value", "Observation.component[0]")


def test_score_as_wrong_value_type() -> None:
    resource = score("763264000", 3)
    del resource["valueQuantity"]
    resource["valueString"] = "3"
    assert _only(resource) == ("value", "Observation.valueString")


@pytest.mark.parametrize("missing", ["8480-6", "8462-4"])
def test_blood_pressure_missing_systolic_or_diastolic(missing: str) -> None:
    resource = blood_pressure()
    resource["component"] = [c for c in resource["component"] if c["code"]["coding"][0]["code"] != missing]
    assert _only(resource) == ("required", "Observation.component")


def test_blood_pressure_systolic_without_value() -> None:
    resource = blood_pressure()
    del resource["component"][0]["valueQuantity"]
    resource["component"][0]["dataAbsentReason"] = {"text": "cuff error"}
    assert _only(resource) == ("required", "Observation.component[0].value[x]")


def test_blood_pressure_component_in_wrong_unit() -> None:
    resource = blood_pressure(16, 10)
    resource["component"][0]["valueQuantity"].update(code="kPa", unit="kPa")
    assert _only(resource) == ("code-invalid", "Observation.component[0].valueQuantity.code")


def test_blood_pressure_duplicate_component() -> None:
    resource = blood_pressure(128, 82, component(SCT, "271649006", 130))
    assert _only(resource) == ("value", "Observation.component[2]")


def test_vs2_vital_sign_without_value_or_data_absent_reason() -> None:
    resource = heart_rate()
    del resource["valueQuantity"]
    assert _only(resource) == ("required", "Observation.value[x]")


def test_obs6_data_absent_reason_with_a_value() -> None:
    resource = heart_rate(dataAbsentReason={"coding": [{"code": "error"}]})
    assert _only(resource) == ("business-rule", "Observation.dataAbsentReason")


def test_obs7_component_repeating_the_observation_code() -> None:
    resource = heart_rate(component=[component(LOINC, "8867-4", 72, "/min")])
    assert ("business-rule", "Observation.component[0].code") in errors(rejected(resource))


def test_consciousness_needs_a_coded_value() -> None:
    resource = score("1104441000000107", 1)
    assert _only(resource) == ("value", "Observation.valueQuantity")


def test_unsupported_value_type_on_unprofiled_code() -> None:
    resource = heart_rate(code={"coding": [{"system": LOINC, "code": "8302-2"}]})
    del resource["valueQuantity"]
    resource["valueRange"] = {"low": {"value": 1}}
    assert _only(resource) == ("not-supported", "Observation.valueRange")


def test_modifier_extension_is_not_supported() -> None:
    resource = heart_rate(modifierExtension=[{"url": "http://example.org/negated", "valueBoolean": True}])
    assert _only(resource) == ("not-supported", "Observation.modifierExtension")


def test_too_long_code() -> None:
    resource = heart_rate(code={"coding": [{"system": LOINC, "code": "9" * 65}]})
    assert _only(resource) == ("too-long", "Observation.code.coding")


def test_too_long_patient_identifier() -> None:
    resource = heart_rate()
    resource["subject"]["identifier"]["value"] = "1" * 40
    assert ("too-long", "Observation.subject.identifier.value") in errors(rejected(resource))


def _nest(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"url": "http://example.org/x", "extension": [value]}
    return value


def test_too_deep_is_rejected_before_parsing() -> None:
    assert _only(heart_rate(extension=[_nest(40)]))[0] == "too-long"


def test_reasonably_nested_extensions_are_fine() -> None:
    resource = heart_rate(extension=[{"url": "http://example.org/a", "extension": [{"url": "b", "valueString": "c"}]}])
    ok(resource)


def test_string_longer_than_a_megabyte() -> None:
    assert _only(heart_rate(note=[{"text": "x" * 1_000_001}])) == ("too-long", "Observation.note[0].text")


def test_too_many_elements() -> None:
    resource = heart_rate(note=[{"text": "x"}] * 25_000)
    assert _only(resource) == ("too-long", "Observation")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity")])
def test_non_finite_numbers(bad: Any) -> None:
    resource = heart_rate()
    resource["valueQuantity"]["value"] = bad
    assert _only(resource) == ("value", "Observation.valueQuantity.value")


@pytest.mark.parametrize("bad", [b"72", {72}, (72,), object()])
def test_values_that_are_not_json(bad: Any) -> None:
    resource = heart_rate()
    resource["valueQuantity"]["value"] = bad
    assert _only(resource) == ("structure", "Observation.valueQuantity.value")


def test_non_string_keys() -> None:
    resource = heart_rate()
    resource["valueQuantity"][1] = 2
    assert _only(resource) == ("structure", "Observation.valueQuantity")


def test_all_errors_are_reported_together() -> None:
    resource = heart_rate(status="done", effectiveDateTime="2026-03")
    resource["subject"]["identifier"]["system"] = "http://dips.no/fhir/namingsystem/dips-patientid"
    resource["valueQuantity"]["code"] = "bpm"
    assert {e[1] for e in errors(rejected(resource))} == {
        "Observation.status",
        "Observation.effectiveDateTime",
        "Observation.subject.identifier.system",
        "Observation.valueQuantity.code",
    }


def test_rejection_carries_warnings_after_errors() -> None:
    resource = heart_rate(status="done", category=[{"coding": [{"system": CATEGORY, "code": "survey"}]}])
    issues = rejected(resource).issues
    assert [i.severity for i in issues] == ["error", "warning"]
    assert issues[1].flag == "missing-category"


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        ok(heart_rate(), now=NOW.replace(tzinfo=None))


def test_performer_orgnr_on_score_is_collected() -> None:
    result = ok(score("763264000", 3, performer=[{"identifier": {"system": ORGNR, "value": f" {VALID_ORGNR} "}}]))
    assert result.performer_orgnrs == (VALID_ORGNR,)


def test_deeply_nested_json_inside_a_string_is_rejected_not_crashing() -> None:
    # pydantic parses a string given for an object as JSON; its recursion limit must hold.
    assert _only(heart_rate(code="[" * 100_000 + "]" * 100_000)) == ("structure", "Observation.code")


def test_an_element_of_neither_r4_nor_r5_is_structural() -> None:
    """R5-only elements (triggeredBy) now parse as R5 (test_r5.py); an unknown one is refused."""
    resource = heart_rate(triggeredByWhom=[{"observation": {"reference": "Observation/1"}}])
    assert _only(resource) == ("structure", "Observation.triggeredByWhom")


def test_unit_too_long_on_kind_other() -> None:
    resource = quantity(LOINC, "8302-2", 1, "{" + "x" * 40 + "}")
    assert _only(resource) == ("too-long", "Observation.valueQuantity.code")
