"""Every example of the VKP guide (read from ../shared/vkp), with its expected outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from sharing.core.kinds import Kind

from .builders import FNR, PATIENT_FNR, errors, fresh, load, ok, rejected, vkp_dir

SUBJECT_SYSTEM = ("code-invalid", "Observation.subject.identifier.system")
# The vkp-* examples send "1000239"/"1000807" as FNR and no subject.display.
VKP_FLAGS = {"upstream-id-invalid", "missing-subject-display"}


@dataclass(frozen=True)
class Accepted:
    kind: Kind
    value: float | None
    unit: str
    flags: set[str]
    components: dict[str, float] = field(default_factory=dict)
    value_code: str = ""


@dataclass(frozen=True)
class Rejected:
    error: tuple[str, str]


EXPECTED: dict[str, Accepted | Rejected] = {
    # DIPS-era base Observations: the patient is a DIPS-internal id, not FNR/DNR/FHN.
    "examples/blood-pressure-create.json": Rejected(SUBJECT_SYSTEM),
    "examples/body-height-create.json": Rejected(SUBJECT_SYSTEM),
    "examples/body-mass-index-create.json": Rejected(SUBJECT_SYSTEM),
    "examples/heart-rate-create.json": Rejected(SUBJECT_SYSTEM),
    "examples/level-of-consciousness-create.json": Rejected(SUBJECT_SYSTEM),
    "examples/respiratory-rate-create.json": Rejected(SUBJECT_SYSTEM),
    "examples/historical/body-weight-create.json": Rejected(SUBJECT_SYSTEM),
    "examples/historical/news2-create.json": Rejected(SUBJECT_SYSTEM),
    "examples/historical/vkp-blood-pressure-create.json": Rejected(SUBJECT_SYSTEM),
    # The response Bundle is not an Observation.
    "examples/pmd-Bundle-Response-example.json": Rejected(("not-supported", "Observation.resourceType")),
    # Current vkp-* examples.
    "examples/vkp-blood-pressure-profile-create.json": Accepted(
        Kind.BLOOD_PRESSURE,
        None,
        "mm[Hg]",
        VKP_FLAGS,
        {"systolic": 123, "diastolic": 78, "mean_arterial": 93, "pulse_pressure": 45},
    ),
    "examples/vkp-body-temperature-create.json": Accepted(Kind.BODY_TEMPERATURE, 37.0, "Cel", VKP_FLAGS),
    "examples/vkp-body-weight-create.json": Accepted(Kind.BODY_WEIGHT, 49.0, "kg", VKP_FLAGS),  # 49000 g
    # performer organisation "103" is labelled orgnr but fails mod 11.
    "examples/vkp-cfs-create.json": Accepted(Kind.CFS, 2.0, "", VKP_FLAGS | {"performer-orgnr-invalid"}),
    "examples/vkp-glucose-create.json": Accepted(Kind.GLUCOSE, 6.3, "mmol/L", VKP_FLAGS),  # sent as mmol/l
    "examples/vkp-heartrate-create.json": Accepted(Kind.HEART_RATE, 50.0, "/min", VKP_FLAGS),
    "examples/vkp-news2-create.json": Accepted(
        Kind.NEWS2,
        20.0,
        "",
        VKP_FLAGS | {"performer-orgnr-invalid"},
        {
            "resp_rate": 3,
            "spo2_scale2": 3,
            "air_or_oxygen": 2,
            "pulse": 3,
            "systolic_bp": 3,
            "consciousness": 3,
            "temperature": 3,
        },
    ),
    "examples/vkp-oxygen-saturation-create.json": Accepted(Kind.OXYGEN_SATURATION, 99.0, "%", VKP_FLAGS),
    # The Observation inside the PMD batch Bundle (same as vkp-body-temperature-create).
    "examples/pmd-Bundle-Request-example.json": Accepted(Kind.BODY_TEMPERATURE, 37.0, "Cel", VKP_FLAGS),
    # 2022 builds: canonical http://hl7.no/fhir/StructureDefinition/..., performer with a DIPS OID.
    "examples/historical/body-temperature-create.json": Accepted(
        Kind.BODY_TEMPERATURE, 37.0, "Cel", VKP_FLAGS | {"legacy-profile-url", "performer-identifier-system"}
    ),
    "examples/historical/oxygen-saturation-create.json": Accepted(
        Kind.OXYGEN_SATURATION, 99.0, "%", VKP_FLAGS | {"legacy-profile-url", "performer-identifier-system"}
    ),
}


def _observation(relative: str) -> Any:
    data = load(relative)
    if relative.endswith("pmd-Bundle-Request-example.json"):
        (entry,) = data["entry"]
        return entry["resource"]
    return data


def test_every_example_file_has_an_expected_outcome() -> None:
    root = vkp_dir()
    on_disk = {str(p.relative_to(root)) for p in root.glob("examples/**/*.json")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_example(relative: str) -> None:
    expected = EXPECTED[relative]
    resource = _observation(relative)
    if isinstance(expected, Rejected):
        assert expected.error in errors(rejected(resource))
        return
    result = ok(resource)
    assert result.kind is expected.kind
    assert result.value == expected.value
    assert result.unit == expected.unit
    assert set(result.flags) == expected.flags
    assert result.components == expected.components
    assert result.value_code == expected.value_code
    assert result.patient_system == FNR
    assert result.effective.utcoffset() is not None
    assert result.source_identifier.startswith("http://dips.no/fhir/namingsystem/externalId|")
    assert result.resource_id == resource["id"]


def _with_valid_subject(relative: str) -> Any:
    resource = fresh(load(relative))
    resource["subject"] = {"identifier": {"system": FNR, "value": PATIENT_FNR}, "display": "Test Testesen"}
    return resource


@pytest.mark.parametrize(
    ("relative", "kind", "value", "unit", "flags"),
    [
        # performers: HER-id and DIPS OIDs, outside the vital-signs value set (FNR only)
        ("examples/heart-rate-create.json", Kind.HEART_RATE, 61.0, "/min", {"performer-identifier-system"}),
        ("examples/respiratory-rate-create.json", Kind.RESPIRATORY_RATE, 14.0, "/min", {"performer-identifier-system"}),
        ("examples/historical/body-weight-create.json", Kind.BODY_WEIGHT, 49.0, "kg", {"performer-identifier-system"}),
        # no profile for height and BMI: kind "other", value and unit as sent
        ("examples/body-height-create.json", Kind.OTHER, 156.0, "cm", set()),
        ("examples/body-mass-index-create.json", Kind.OTHER, 32.0, "kg/m2", set()),
        # category survey is fine for scores; unit "score"/"{ScoreOf}" read as dimensionless
        ("examples/historical/news2-create.json", Kind.NEWS2, 20.0, "", {"performer-identifier-system"}),
    ],
)
def test_dips_era_examples_with_a_national_id(relative: str, kind: Kind, value: float, unit: str, flags: set) -> None:
    result = ok(_with_valid_subject(relative))
    assert (result.kind, result.value, result.unit, set(result.flags)) == (kind, value, unit, flags)


def test_dips_era_blood_pressure_reads_the_norwegian_pulse_pressure_code() -> None:
    result = ok(_with_valid_subject("examples/blood-pressure-create.json"))
    assert result.components == {"systolic": 123, "diastolic": 78, "mean_arterial": 93, "pulse_pressure": 45}
    assert "performer-identifier-system" in result.flags


def test_dips_era_consciousness_keeps_its_coded_value() -> None:
    result = ok(_with_valid_subject("examples/level-of-consciousness-create.json"))
    assert result.kind is Kind.CONSCIOUSNESS
    assert (result.value, result.value_code, result.value_display) == (None, "5", "Våken")
    assert result.code == "1104441000000107"


def test_glucose_example_is_identified_by_loinc_and_normalises_the_unit_spelling() -> None:
    result = ok(load("examples/vkp-glucose-create.json"))
    assert (result.code_system, result.code) == ("http://loinc.org", "15074-8")
    assert result.unit == "mmol/L"
