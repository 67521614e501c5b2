"""The profile table, checked against the guide's own StructureDefinitions (read, not copied)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sharing.core.kinds import KIND_LABELS, Kind
from sharing.fhir.observation.profiles import (
    BY_CODE,
    BY_NAME,
    LEGACY_BASES,
    LOINC,
    NPU,
    PROFILES,
    SCT,
    URL_TO_PROFILE_ID,
    Profile,
    ValueType,
    classify,
    matching_profiles,
)

from .builders import vkp_dir

# Core vital-signs parents (domain.md §1.4); everything else is VkpObservation or plain Observation.
CORE_VITALS = {"heartrate", "bp", "oxygensat", "bodytemp", "bodyweight", "resprate"}


def _sd(profile_id: str) -> dict[str, Any]:
    path = vkp_dir() / "structuredefinitions" / f"StructureDefinition-{profile_id}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _fixed_codes(sd: dict[str, Any], prefix: str) -> set[tuple[str, str]]:
    """(system, code) of the code.coding slices under ``prefix`` in the snapshot."""
    elements = sd["snapshot"]["element"]
    systems = {
        e["id"].rsplit(".", 1)[0]: e.get("fixedUri") or e.get("patternUri")
        for e in elements
        if e["id"].endswith(".system")
    }
    found = set()
    for e in elements:
        code = e.get("fixedCode") or e.get("patternCode")
        if code and e["id"].startswith(prefix) and e["id"].endswith(".code") and ":" in e["id"][len(prefix) :]:
            found.add((systems.get(e["id"].rsplit(".", 1)[0]) or "", code))
    return found


def test_every_vkp_observation_profile_of_the_guide_is_in_the_table() -> None:
    on_disk = {
        p.name.removeprefix("StructureDefinition-").removesuffix(".json")
        for p in (vkp_dir() / "structuredefinitions").glob("StructureDefinition-vkp-*.json")
    }
    assert on_disk == {p.profile_id for p in PROFILES}


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_profile_matches_its_structure_definition(profile: Profile) -> None:
    sd = _sd(profile.profile_id)
    assert sd["url"] == profile.url
    parent = sd["baseDefinition"].rsplit("/", 1)[1]
    assert profile.vital_sign == (parent in CORE_VITALS)
    fixed = _fixed_codes(sd, "Observation.code.coding")
    ours = {(c.system, c.code) for c in profile.codes}
    # SCT slices of the score profiles carry no system pattern in the snapshot (inherited from the base slice).
    assert {(s or SCT, c) for s, c in fixed} <= ours
    if profile.profile_id != "vkp-Observation":
        assert fixed, "a specific profile should fix at least one code"


@pytest.mark.parametrize("profile", [p for p in PROFILES if p.vital_sign], ids=lambda p: p.name)
def test_vital_sign_units_match_the_snapshot(profile: Profile) -> None:
    elements = {e["id"]: e for e in _sd(profile.profile_id)["snapshot"]["element"]}
    code = elements.get("Observation.value[x]:valueQuantity.code", {})
    if "fixedCode" in code:
        assert profile.units == (code["fixedCode"],) == (profile.canonical_unit,)
    elif profile.value_type is ValueType.QUANTITY:
        value_set = code["binding"]["valueSet"]
        expected = {"ucum-bodytemp": ("Cel", "[degF]"), "ucum-bodyweight": ("kg", "g", "[lb_av]")}
        assert profile.units == expected[value_set.rsplit("/", 1)[1].split("|")[0]]
    else:
        assert elements["Observation.value[x]"]["max"] == "0" or profile.value_type is ValueType.COMPONENTS


def test_blood_pressure_components_match_the_snapshot() -> None:
    sd = _sd("vkp-Observation-Bloodpressure")
    bp = BY_NAME["blood_pressure"]
    for slice_name, key in (("SystolicBP", "systolic"), ("DiastolicBP", "diastolic")):
        fixed = _fixed_codes(sd, f"Observation.component:{slice_name}.code.coding")
        spec = next(s for s in bp.components if s.key == key)
        assert fixed == {(c.system, c.code) for c in spec.codes}
        assert spec.required and spec.units == ("mm[Hg]",)
    assert [s.key for s in bp.components if not s.required] == ["mean_arterial", "pulse_pressure"]


def test_table_facts_from_the_guide() -> None:
    glucose = BY_NAME["glucose"]
    assert {(c.system, c.code) for c in glucose.codes} == {(LOINC, "15074-8"), (SCT, "434912009"), (NPU, "NPU02187")}
    assert glucose.units == ("mmol/L",) and not glucose.vital_sign
    assert BY_NAME["cfs"].value_range == (1, 9) and BY_NAME["cfs"].value_type is ValueType.INTEGER
    assert BY_NAME["news2"].value_range == (0, 20)
    assert [s.key for s in BY_NAME["news2"].components] == [
        "resp_rate",
        "spo2_scale2",
        "air_or_oxygen",
        "pulse",
        "systolic_bp",
        "consciousness",
        "temperature",
    ]
    assert BY_NAME["questionnaire_score"].codes[0].code == "74465-6"
    assert BY_NAME["consciousness"].value_type is ValueType.CODEABLE


def test_every_kind_but_other_has_a_profile_and_a_label() -> None:
    assert {p.kind for p in PROFILES} == set(Kind) - {Kind.OTHER}
    assert KIND_LABELS[Kind.CFS] == "Klinisk skrøpelighetsskala (CFS)"
    assert all(KIND_LABELS[k] for k in Kind)


def test_urls_current_and_legacy() -> None:
    heart = BY_NAME["heart_rate"]
    assert heart.url == "http://hl7.no/fhir/vkpobservation/StructureDefinition/vkp-Observation-Heartrate"
    assert "http://ehelse.no/fhir/StructureDefinition/vkp-Observation-Heartrate" in heart.legacy_urls
    assert URL_TO_PROFILE_ID[heart.url] == ("vkp-Observation-Heartrate", False)
    assert all(URL_TO_PROFILE_ID[base + "vkp-Observation"][1] for base in LEGACY_BASES)


@pytest.mark.parametrize(
    ("codings", "name"),
    [
        ([{"system": LOINC, "code": "8867-4"}], "heart_rate"),
        ([("http://snomed.info/sct", "75367002")], "blood_pressure"),
        ([{"system": "http://acme.org", "code": "x"}, {"system": NPU, "code": "NPU02187"}], "glucose"),
        ([{"system": LOINC, "code": "8302-2"}], None),
        ([{"code": "8867-4"}], None),
        ([{"system": SCT, "code": 8867}], None),
        ([], None),
    ],
)
def test_classify(codings: list[Any], name: str | None) -> None:
    profile = classify(codings)
    assert (profile.name if profile else None) == name


def test_classify_accepts_coding_objects_and_reports_conflicts() -> None:
    from fhir.resources.R4B.coding import Coding

    codings = [
        Coding(system=SCT, code="276885007"),
        Coding(system=LOINC, code="8867-4"),
        Coding(system=SCT, code="364075005"),
    ]
    assert classify(codings) is BY_NAME["body_temperature"]
    assert [p.name for p in matching_profiles(codings)] == ["body_temperature", "heart_rate"]


def test_lookup_is_one_dict() -> None:
    assert len(BY_CODE) == sum(len(p.codes) for p in PROFILES)
