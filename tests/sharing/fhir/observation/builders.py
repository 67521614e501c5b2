"""Shared test helpers: where the guide's files are, and small valid Observations to tweak."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sharing.fhir.observation.normalise import Normalised, RejectedObservation, normalise

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
NPU = "urn:oid:2.16.578.1.12.4.1.1.7280"
UCUM = "http://unitsofmeasure.org"
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
FHN = "urn:oid:2.16.578.1.12.4.1.4.3"
ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"
HER = "urn:oid:2.16.578.1.12.4.1.2"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PROFILE_BASE = "http://hl7.no/fhir/vkpobservation/StructureDefinition/"

# Synthetic Test-Norge numbers from domain.md §4 (none can belong to a real person).
PATIENT_FNR = "15888540013"
PRACTITIONER_FNR = "01820355039"
PATIENT_DNR = "55889030088"
BAD_CHECKSUM_FNR = "15888540014"
VALID_ORGNR = "312345005"
INVALID_ORGNR = "312345006"

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)

REPO_ROOT = Path(__file__).resolve().parents[4]  # tests/sharing/fhir/observation/<file> -> the repository


def vkp_dir() -> Path:
    """The guide's files, ``../shared/vkp`` beside the repository (override with VKP_DIR)."""
    path = Path(os.environ["VKP_DIR"]) if os.environ.get("VKP_DIR") else REPO_ROOT.parent / "shared" / "vkp"
    if not (path / "examples").is_dir():
        raise FileNotFoundError(f"VKP guide files not found at {path}; set VKP_DIR")
    return path


def load(relative: str) -> Any:
    return json.loads((vkp_dir() / relative).read_text(encoding="utf-8"))


def heart_rate(**top: Any) -> dict[str, Any]:
    """A fresh, fully valid VKP heart-rate Observation that normalises without warnings."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "hr-1",
        "meta": {"profile": [PROFILE_BASE + "vkp-Observation-Heartrate"]},
        "identifier": [{"system": "https://kommune.example/dho/observation", "value": "obs-1"}],
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs"}]}],
        "code": {
            "coding": [
                {"system": LOINC, "code": "8867-4", "display": "Heart rate"},
                {"system": SCT, "code": "364075005", "display": "Heart rate"},
            ]
        },
        "subject": {"identifier": {"system": FNR, "value": PATIENT_FNR}, "display": "Test Testesen"},
        "effectiveDateTime": "2026-03-20T08:30:00+01:00",
        "performer": [{"identifier": {"system": FNR, "value": PRACTITIONER_FNR}}],
        "valueQuantity": {"value": 72, "unit": "/min", "system": UCUM, "code": "/min"},
    }
    resource.update(top)
    return resource


def quantity(system: str, code: str, value: Any, unit: str | None, *, vital: bool = True, **top: Any) -> dict[str, Any]:
    """A heart-rate-shaped Observation with another code and valueQuantity."""
    resource = heart_rate()
    resource["code"] = {"coding": [{"system": system, "code": code}]}
    resource["valueQuantity"] = {"value": value, "system": UCUM}
    if unit is not None:
        resource["valueQuantity"].update(unit=unit, code=unit)
    if not vital:
        resource["performer"] = [{"identifier": {"system": ORGNR, "value": VALID_ORGNR}}]
    del resource["meta"]
    resource.update(top)
    return resource


def component(system: str, code: str, value: Any, unit: str | None = "mm[Hg]") -> dict[str, Any]:
    q: dict[str, Any] = {"value": value}
    if unit is not None:
        q.update(unit=unit, system=UCUM, code=unit)
    return {"code": {"coding": [{"system": system, "code": code}]}, "valueQuantity": q}


def blood_pressure(systolic: Any = 128, diastolic: Any = 82, *extra: dict[str, Any]) -> dict[str, Any]:
    resource = heart_rate()
    del resource["valueQuantity"], resource["meta"]
    resource["code"] = {"coding": [{"system": LOINC, "code": "85354-9"}, {"system": SCT, "code": "75367002"}]}
    resource["component"] = [
        component(LOINC, "8480-6", systolic),
        component(LOINC, "8462-4", diastolic),
        *extra,
    ]
    return resource


def score(code: str, value: Any, **top: Any) -> dict[str, Any]:
    """A VkpObservation-derived score (CFS, NEWS2): SNOMED code, unit-less valueQuantity."""
    resource = heart_rate()
    del resource["meta"], resource["category"]
    resource["code"] = {"coding": [{"system": SCT, "code": code}]}
    resource["valueQuantity"] = {"value": value}
    resource["performer"] = [{"identifier": {"system": ORGNR, "value": VALID_ORGNR}}]
    resource.update(top)
    return resource


def ok(resource: Any, **kwargs: Any) -> Normalised:
    kwargs.setdefault("now", NOW)
    return normalise(resource, **kwargs)


def rejected(resource: Any, **kwargs: Any) -> RejectedObservation:
    kwargs.setdefault("now", NOW)
    try:
        result = normalise(resource, **kwargs)
    except RejectedObservation as exc:
        assert any(i.severity == "error" for i in exc.issues)
        return exc
    raise AssertionError(f"expected a rejection, got {result!r}")


def errors(exc: RejectedObservation) -> list[tuple[str, str]]:
    """(code, expression) of each error."""
    return [(i.code, i.expression) for i in exc.issues if i.severity == "error"]


def fresh(resource: Any) -> Any:
    return copy.deepcopy(resource)
