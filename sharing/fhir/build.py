"""Build VkpObservation resources the way a VKP feed sends them (demo data, tests, benchmarks)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sharing.identifiers import SYSTEM_FNR, SYSTEM_ORGNR

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
NPU = "urn:oid:2.16.578.1.12.4.1.1.7280"
VITAL_SIGNS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}
PROFILE_BASE = "http://hl7.no/fhir/vkpobservation/StructureDefinition/"

# kind -> (profile id, LOINC code, SNOMED code, display, UCUM unit)
QUANTITY_KINDS: dict[str, tuple[str, str, str, str, str]] = {
    "heart_rate": ("vkp-Observation-Heartrate", "8867-4", "364075005", "Heart rate", "/min"),
    "oxygen_saturation": ("vkp-Observation-Oxygensat", "2708-6", "431314004", "Oxygen saturation", "%"),
    "body_temperature": ("vkp-Observation-Bodytemp", "8310-5", "276885007", "Body temperature", "Cel"),
    "body_weight": ("vkp-Observation-Bodyweight", "29463-7", "27113001", "Body weight", "kg"),
    "respiratory_rate": ("vkp-Observation-Resprate", "9279-1", "86290005", "Respiratory rate", "/min"),
    "glucose": ("vkp-Observation", "15074-8", "434912009", "Glucose", "mmol/L"),
}


def _codings(loinc: str, snomed: str, display: str) -> dict[str, Any]:
    return {
        "coding": [
            {"system": LOINC, "code": loinc, "display": display},
            {"system": SNOMED, "code": snomed, "display": display},
        ],
        "text": display,
    }


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def observation(
    *,
    kind: str,
    patient: str,
    patient_name: str,
    effective: dt.datetime,
    value: float | None = None,
    systolic: float | None = None,
    diastolic: float | None = None,
    municipality_orgnr: str,
    identifier: str | None = None,
    status: str = "final",
    patient_system: str = SYSTEM_FNR,
    performer_fnr: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One VkpObservation as VKP would send it for a patient in a municipality's follow-up.

    `performer_fnr`: the vital-sign profiles' performer, a Practitioner by FNR (the municipality
    as performer is what the base profile allows, and what tests of the writer's rights use).
    `extra`: elements added as they are (referenceRange, interpretation, note, device).
    """
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [
            {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{identifier or uuid.uuid4()}"},
        ],
        "status": status,
        "category": [VITAL_SIGNS],
        "subject": {
            "identifier": {"system": patient_system, "value": patient},
            "display": patient_name,
        },
        "effectiveDateTime": effective.isoformat(),
        "performer": [{"identifier": {"system": SYSTEM_ORGNR, "value": municipality_orgnr}}],
        **(extra or {}),
    }
    if performer_fnr is not None and kind != "glucose":
        practitioner = {"system": SYSTEM_FNR, "value": performer_fnr}
        resource["performer"] = [{"type": "Practitioner", "identifier": practitioner, "display": "Hjemmesykepleien"}]
    if kind == "blood_pressure":
        resource["meta"] = {"profile": [PROFILE_BASE + "vkp-Observation-Bloodpressure"]}
        resource["code"] = _codings("85354-9", "75367002", "Blood pressure panel")
        resource["component"] = [
            {
                "code": _codings("8480-6", "271649006", "Systolic blood pressure"),
                "valueQuantity": _quantity(systolic or 0, "mm[Hg]"),
            },
            {
                "code": _codings("8462-4", "271650006", "Diastolic blood pressure"),
                "valueQuantity": _quantity(diastolic or 0, "mm[Hg]"),
            },
        ]
        return resource
    profile, loinc, snomed, display, unit = QUANTITY_KINDS[kind]
    resource["meta"] = {"profile": [PROFILE_BASE + profile]}
    resource["code"] = _codings(loinc, snomed, display)
    resource["valueQuantity"] = _quantity(value if value is not None else 0, unit)
    return resource
