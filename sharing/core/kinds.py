"""The portal's measurement kinds: what a clinician sees a measurement as.

A kind is the domain-level meaning of an Observation, independent of which VKP
profile (or profile version) carried it; see ``profiles.py`` for the mapping from
codes to kinds. Plain ``StrEnum`` so it can be used without Django.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    HEART_RATE = "heart_rate"
    BLOOD_PRESSURE = "blood_pressure"
    OXYGEN_SATURATION = "oxygen_saturation"
    BODY_TEMPERATURE = "body_temperature"
    BODY_WEIGHT = "body_weight"
    RESPIRATORY_RATE = "respiratory_rate"
    GLUCOSE = "glucose"
    CONSCIOUSNESS = "consciousness"
    NEWS2 = "news2"
    CFS = "cfs"
    QUESTIONNAIRE_SCORE = "questionnaire_score"
    OTHER = "other"


# Norwegian (bokmål) labels shown in the portal.
KIND_LABELS: dict[Kind, str] = {
    Kind.HEART_RATE: "Puls",
    Kind.BLOOD_PRESSURE: "Blodtrykk",
    Kind.OXYGEN_SATURATION: "Oksygenmetning (SpO₂)",
    Kind.BODY_TEMPERATURE: "Kroppstemperatur",
    Kind.BODY_WEIGHT: "Vekt",
    Kind.RESPIRATORY_RATE: "Respirasjonsfrekvens",
    Kind.GLUCOSE: "Blodsukker",
    Kind.CONSCIOUSNESS: "Bevissthetsnivå (ACVPU)",
    Kind.NEWS2: "NEWS2",
    Kind.CFS: "Klinisk skrøpelighetsskala (CFS)",
    Kind.QUESTIONNAIRE_SCORE: "Spørreskjema-skår",
    Kind.OTHER: "Annet",
}

if set(KIND_LABELS) != set(Kind):  # pragma: no cover - guards edits to the table above
    raise RuntimeError("every Kind needs a Norwegian label in KIND_LABELS")
