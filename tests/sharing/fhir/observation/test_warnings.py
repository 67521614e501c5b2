"""Each warning flag (stored with the measurement), the reference range and the content hash."""

from __future__ import annotations

from typing import Any

import pytest

from sharing.core.kinds import Kind
from sharing.fhir.observation.normalise import Issue
from sharing.fhir.wording import Said

from .builders import (
    BAD_CHECKSUM_FNR,
    CATEGORY,
    DNR,
    FNR,
    HER,
    INVALID_ORGNR,
    LOINC,
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

# --- warning flags -------------------------------------------------------------------------


def _flags(resource: dict[str, Any]) -> tuple[str, ...]:
    return ok(resource).flags


@pytest.mark.parametrize(
    ("system", "value"),
    [(FNR, BAD_CHECKSUM_FNR), (FNR, "1000239"), (FNR, PATIENT_DNR), (DNR, PATIENT_FNR), (FNR, "15881540013")],
)
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
    [
        "http://ehelse.no/fhir/StructureDefinition/vkp-Observation-Heartrate",
        "http://hl7.no/fhir/StructureDefinition/vkp-Observation-Heartrate",
    ],
)
def test_legacy_profile_url(url: str) -> None:
    assert _flags(heart_rate(meta={"profile": [url]})) == ("legacy-profile-url",)


def test_profile_claim_contradicting_the_code() -> None:
    resource = heart_rate(
        meta={"profile": ["http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-Bodytemp"]}
    )
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
    performers = [
        {"identifier": {"system": s, "value": VALID_ORGNR}} for s in (FNR, ORGNR, "urn:oid:2.16.578.1.12.4.1.4.102")
    ]
    assert _flags(score("763264000", 3, performer=performers)) == ()
    assert _flags(score("763264000", 3, performer=[{"identifier": {"system": HER, "value": "1"}}])) == (
        "performer-identifier-system",
    )


def test_performer_orgnr_invalid_is_flagged_and_not_used() -> None:
    result = ok(score("763264000", 3, performer=[{"identifier": {"system": ORGNR, "value": INVALID_ORGNR}}]))
    assert result.flags == ("performer-orgnr-invalid",) and result.performer_orgnrs == ()


def test_data_absent() -> None:
    resource = heart_rate(
        dataAbsentReason={
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "error"}]
        }
    )
    del resource["valueQuantity"]
    result = ok(resource)
    assert (result.value, result.unit, result.data_absent_reason, result.flags) == (
        None,
        "/min",
        "error",
        ("data-absent",),
    )


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
    resource = blood_pressure()
    resource["valueQuantity"] = {"value": 120, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}
    result = ok(resource)
    assert result.flags == ("value-ignored",) and result.value is None


def test_unknown_and_valueless_components() -> None:
    resource = blood_pressure(
        120, 80, component("http://acme.org", "bp-x", 1), {"code": {"coding": [{"system": LOINC, "code": "8478-0"}]}}
    )
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
    resource["referenceRange"] = [
        {"text": "no numbers"},
        {"low": {"value": 60000}, "high": {"value": 80, "code": "kg"}},
    ]
    result = ok(resource)
    assert (result.value, result.reference_low, result.reference_high) == (70.0, 60.0, 80.0)


def test_reference_range_in_a_bad_unit_is_dropped_and_flagged() -> None:
    resource = heart_rate(referenceRange=[{"low": {"value": 1, "code": "/s", "system": UCUM}}])
    result = ok(resource)
    assert (result.reference_low, result.reference_high, result.flags) == (None, None, ("reference-range-unit",))


def test_flags_are_unique_and_ordered() -> None:
    issue = Issue("warning", "value", "Observation.x", Said("a", "d"), "a")
    result = ok(heart_rate())
    later = Issue("warning", "value", "x", Said("b", "d"), "b")
    other = type(result)(**{**result.__dict__, "warnings": (issue, issue, later)})
    assert other.flags == ("a", "b")


# --- content hash --------------------------------------------------------------------------


def test_content_hash_is_unit_independent_and_ignores_metadata() -> None:
    grams = quantity(LOINC, "29463-7", 72500, "g")
    kilos = quantity(SCT, "27113001", 72.5, "kg", id="other", identifier=[], status="amended")
    assert ok(grams).content_hash == ok(kilos).content_hash


@pytest.mark.parametrize(
    "change",
    [
        {"effectiveDateTime": "2026-03-20T08:31:00+01:00"},
        {"valueQuantity": {"value": 73, "unit": "/min", "system": UCUM, "code": "/min"}},
        {"subject": {"identifier": {"system": FNR, "value": "01820355039"}, "display": "X"}},
    ],
)
def test_content_hash_changes_with_the_measurement(change: dict[str, Any]) -> None:
    assert ok(heart_rate()).content_hash != ok(heart_rate(**change)).content_hash


def test_partial_period_start_on_a_vital_sign_is_flagged_not_rejected() -> None:
    resource = heart_rate(effectivePeriod={"start": "2026-03"})
    del resource["effectiveDateTime"]
    assert _flags(resource) == ("effective-imprecise",)


def test_dict_subclasses_are_accepted() -> None:
    from collections import OrderedDict

    resource = heart_rate()
    resource["valueQuantity"] = OrderedDict(resource["valueQuantity"])
    assert ok(resource).value == 72.0
