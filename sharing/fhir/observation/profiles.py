"""The VKP profile table: what each VkpObservation profile means to the portal.

Written from the HL7 Norway VkpObservation guide 0.5.2 (see docs/ingest.md and
domain.md §1.3/§1.4). One frozen entry per profile; a new guide version should be
a change to ``PROFILES`` and nothing else. Observations are classified by their
codes (``classify``), never by ``meta.profile``, which old feeds fill with legacy
URLs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sharing.core.kinds import Kind
from sharing.measurements.units import CANONICAL_UNIT, check_table

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
NPU = "urn:oid:2.16.578.1.12.4.1.1.7280"  # NPU/NLK (Norsk laboratoriekodeverk)
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# Preference order when choosing the coding that identifies an Observation.
SYSTEM_PREFERENCE: tuple[str, ...] = (LOINC, SCT, NPU)

CANONICAL_BASE = "http://hl7.no/fhir/vkpobservation/StructureDefinition/"
# Canonicals used before mid-2025 (ehelse.no, v0.0.1-0.3.0) and by the 2022 builds
# of the historical examples (hl7.no without /vkpobservation).
LEGACY_BASES: tuple[str, ...] = (
    "http://ehelse.no/fhir/StructureDefinition/",
    "http://hl7.no/fhir/StructureDefinition/",
)

# Performer identifier systems (domain.md §1.2 / §4).
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"
RESH = "urn:oid:2.16.578.1.12.4.1.4.102"
# vital-sign profiles and Consciousness: performer is a Practitioner with FNR.
PRACTITIONER_SYSTEMS = frozenset({FNR})
# VkpObservation and profiles derived from it: author (FNR) or organization (orgnr, RESH).
BASE_PERFORMER_SYSTEMS = frozenset({FNR, ORGNR, RESH})


class ValueType(StrEnum):
    QUANTITY = "quantity"  # valueQuantity in one of the allowed units
    INTEGER = "integer"  # whole-number score: valueQuantity without unit, or valueInteger
    CODEABLE = "codeable"  # valueCodeableConcept
    COMPONENTS = "components"  # no value[x]; the values are in components


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str = ""


@dataclass(frozen=True)
class ComponentSpec:
    key: str  # short name stored in Normalised.components
    codes: tuple[Code, ...]
    required: bool = False
    units: tuple[str, ...] = ()  # allowed; () with canonical_unit "" = dimensionless
    canonical_unit: str = ""
    value_range: tuple[int, int] | None = None  # inclusive, whole numbers


@dataclass(frozen=True)
class Profile:
    name: str  # unique key of this entry
    profile_id: str  # StructureDefinition id in the guide
    kind: Kind
    codes: tuple[Code, ...]
    value_type: ValueType
    vital_sign: bool  # derived from the FHIR core vital-signs profiles (§1.4)
    units: tuple[str, ...] = ()
    value_range: tuple[int, int] | None = None
    components: tuple[ComponentSpec, ...] = ()
    performer_systems: frozenset[str] = BASE_PERFORMER_SYSTEMS
    component_by_code: Mapping[tuple[str, str], ComponentSpec] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if self.value_type is ValueType.QUANTITY:
            check_table(self.units, self.canonical_unit)
        elif self.units:
            raise RuntimeError(f"{self.name}: only quantity profiles list units")
        for spec in self.components:
            check_table(spec.units, spec.canonical_unit)
        lookup = {(c.system, c.code): spec for spec in self.components for c in spec.codes}
        object.__setattr__(self, "component_by_code", lookup)

    @property
    def canonical_unit(self) -> str:
        return CANONICAL_UNIT[self.kind]

    @property
    def url(self) -> str:
        return CANONICAL_BASE + self.profile_id

    @property
    def legacy_urls(self) -> tuple[str, ...]:
        return tuple(base + self.profile_id for base in LEGACY_BASES)


def _bp_part(key: str, *codes: Code, required: bool = False) -> ComponentSpec:
    return ComponentSpec(key, codes, required=required, units=("mm[Hg]",), canonical_unit="mm[Hg]")


def _news2_part(key: str, code: str) -> ComponentSpec:
    return ComponentSpec(key, (Code(SCT, code),), value_range=(0, 3))


# fmt: off
PROFILES: tuple[Profile, ...] = (
    Profile(
        "heart_rate", "vkp-Observation-Heartrate", Kind.HEART_RATE,
        (Code(LOINC, "8867-4", "Heart rate"), Code(SCT, "364075005", "Heart rate")),
        ValueType.QUANTITY, vital_sign=True, units=("/min",), performer_systems=PRACTITIONER_SYSTEMS,
    ),
    Profile(
        "blood_pressure", "vkp-Observation-Bloodpressure", Kind.BLOOD_PRESSURE,
        (Code(LOINC, "85354-9", "Blood pressure panel"), Code(SCT, "75367002", "Blood pressure")),
        ValueType.COMPONENTS, vital_sign=True, performer_systems=PRACTITIONER_SYSTEMS,
        components=(
            _bp_part("systolic", Code(LOINC, "8480-6"), Code(SCT, "271649006"), required=True),
            _bp_part("diastolic", Code(LOINC, "8462-4"), Code(SCT, "271650006"), required=True),
            _bp_part("mean_arterial", Code(LOINC, "8478-0")),
            # 87179004 is in the guide's example; 4461000202102 (Norwegian extension,
            # "difference between systolic and diastolic pressure") in the DIPS-era one.
            _bp_part("pulse_pressure", Code(SCT, "87179004"), Code(SCT, "4461000202102")),
        ),
    ),
    Profile(
        "oxygen_saturation", "vkp-Observation-Oxygensat", Kind.OXYGEN_SATURATION,
        (Code(LOINC, "2708-6", "Oxygen saturation"), Code(SCT, "431314004", "Peripheral oxygen saturation")),
        ValueType.QUANTITY, vital_sign=True, units=("%",), performer_systems=PRACTITIONER_SYSTEMS,
    ),
    Profile(
        "body_temperature", "vkp-Observation-Bodytemp", Kind.BODY_TEMPERATURE,
        (Code(LOINC, "8310-5", "Body temperature"), Code(SCT, "276885007", "Core body temperature")),
        ValueType.QUANTITY, vital_sign=True, units=("Cel", "[degF]"), performer_systems=PRACTITIONER_SYSTEMS,
    ),
    Profile(
        "body_weight", "vkp-Observation-Bodyweight", Kind.BODY_WEIGHT,
        (Code(LOINC, "29463-7", "Body weight"), Code(SCT, "27113001", "Body weight")),
        ValueType.QUANTITY, vital_sign=True, units=("kg", "g", "[lb_av]"),
        performer_systems=PRACTITIONER_SYSTEMS,
    ),
    Profile(
        "respiratory_rate", "vkp-Observation-Resprate", Kind.RESPIRATORY_RATE,
        (Code(LOINC, "9279-1", "Respiratory rate"), Code(SCT, "86290005", "Respiratory rate")),
        ValueType.QUANTITY, vital_sign=True, units=("/min",), performer_systems=PRACTITIONER_SYSTEMS,
    ),
    Profile(
        "glucose", "vkp-Observation", Kind.GLUCOSE,
        (
            Code(LOINC, "15074-8", "Glucose [Moles/volume] in Blood"),
            Code(SCT, "434912009", "Blood glucose concentration"),
            Code(NPU, "NPU02187", "B—Glucose"),
        ),
        ValueType.QUANTITY, vital_sign=False, units=("mmol/L",),
    ),
    Profile(
        "questionnaire_score", "vkp-Observation", Kind.QUESTIONNAIRE_SCORE,
        (Code(LOINC, "74465-6", "Questionnaire score"),),
        ValueType.QUANTITY, vital_sign=False,
    ),
    Profile(
        "consciousness", "vkp-Observation-Consciousness", Kind.CONSCIOUSNESS,
        (Code(SCT, "1104441000000107", "ACVPU (alert, confusion, voice, pain, unresponsive) scale score"),),
        ValueType.CODEABLE, vital_sign=False, performer_systems=PRACTITIONER_SYSTEMS,
    ),
    Profile(
        "news2", "vkp-Observation-NEWS2score", Kind.NEWS2,
        (Code(SCT, "1104051000000101", "NEWS2 total score"),),
        ValueType.INTEGER, vital_sign=False, value_range=(0, 20),
        components=(
            _news2_part("resp_rate", "1104301000000104"),
            _news2_part("spo2_scale2", "1104321000000108"),
            _news2_part("air_or_oxygen", "1104331000000105"),
            _news2_part("pulse", "1104351000000103"),
            _news2_part("systolic_bp", "1104341000000101"),
            _news2_part("consciousness", "1104361000000100"),
            _news2_part("temperature", "1104371000000107"),
        ),
    ),
    Profile(
        "cfs", "vkp-Observation-CFSscore", Kind.CFS,
        (Code(SCT, "763264000", "Clinical Frailty Scale score"),),
        ValueType.INTEGER, vital_sign=False, value_range=(1, 9),
    ),
)
# fmt: on


def _build_lookup(profiles: Iterable[Profile]) -> dict[tuple[str, str], Profile]:
    lookup: dict[tuple[str, str], Profile] = {}
    for profile in profiles:
        for code in profile.codes:
            key = (code.system, code.code)
            if key in lookup:
                raise RuntimeError(f"code {key} is claimed by {lookup[key].name} and {profile.name}")
            lookup[key] = profile
    return lookup


BY_CODE: dict[tuple[str, str], Profile] = _build_lookup(PROFILES)
BY_NAME: dict[str, Profile] = {p.name: p for p in PROFILES}
# Profile ids the guide defines, and every URL (current or legacy) naming one of them.
PROFILE_IDS: frozenset[str] = frozenset(p.profile_id for p in PROFILES)
URL_TO_PROFILE_ID: dict[str, tuple[str, bool]] = {
    base + pid: (pid, base != CANONICAL_BASE) for pid in PROFILE_IDS for base in (CANONICAL_BASE, *LEGACY_BASES)
}


def _pair(coding: Any) -> tuple[str, str]:
    if isinstance(coding, Mapping):
        system, code = coding.get("system"), coding.get("code")
    elif isinstance(coding, tuple):
        system, code = coding
    else:
        system, code = getattr(coding, "system", None), getattr(coding, "code", None)
    return (system if isinstance(system, str) else "", code if isinstance(code, str) else "")


def matching_profiles(codings: Iterable[Any]) -> list[Profile]:
    """Every distinct profile any of ``codings`` identifies, in coding order."""
    found: list[Profile] = []
    for coding in codings:
        profile = BY_CODE.get(_pair(coding))
        if profile is not None and all(p is not profile for p in found):
            found.append(profile)
    return found


def classify(codings: Iterable[Any]) -> Profile | None:
    """The profile identified by the first coding (system, code) we know, else None.

    ``codings`` may hold fhir.resources ``Coding`` objects, dicts with ``system``
    and ``code``, or ``(system, code)`` tuples.
    """
    for coding in codings:
        profile = BY_CODE.get(_pair(coding))
        if profile is not None:
            return profile
    return None
