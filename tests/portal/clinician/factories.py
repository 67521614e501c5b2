"""Plain measurement rows for the clinician pages' tests and the patient-page benchmark.

Rows go straight into the table (with their PatientSource), the way ingest leaves them,
without parsing FHIR: a year of six kinds at four readings a day is 8,760 rows, and
building them through the FHIR parser would make every test slow. Ingest itself is
tested elsewhere.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.utils import timezone

from sharing.identifiers import SYSTEM_FNR
from sharing.measurements import storage
from sharing.measurements.models import Measurement, PatientSource

KARI = "30875928763"
KARI_NAME = "Kari Nordmann"
OSLO = "311111019"
BAERUM = "315555019"
SIX_KINDS = ("blood_pressure", "heart_rate", "oxygen_saturation", "body_weight", "glucose", "news2")
UNITS = {
    "blood_pressure": "mm[Hg]",
    "heart_rate": "/min",
    "oxygen_saturation": "%",
    "body_weight": "kg",
    "glucose": "mmol/L",
    "body_temperature": "Cel",
    "respiratory_rate": "/min",
    "news2": "",
}
CODES = {
    "blood_pressure": "85354-9",
    "heart_rate": "8867-4",
    "oxygen_saturation": "2708-6",
    "body_weight": "29463-7",
    "glucose": "15074-8",
    "body_temperature": "8310-5",
    "respiratory_rate": "9279-1",
    "news2": "1104051000000101",
}
NEWS2_PARTS = ("resp_rate", "spo2_scale2", "air_or_oxygen", "pulse", "systolic_bp", "consciousness", "temperature")


def measurement(
    *,
    kind: str,
    effective: dt.datetime,
    value: float | None = None,
    systolic: float | None = None,
    diastolic: float | None = None,
    components: dict[str, Any] | None = None,
    patient: str = KARI,
    name: str = KARI_NAME,
    status: str = "final",
    flags: Sequence[str] = (),
    reference: tuple[float | None, float | None] = (None, None),
    source: str = OSLO,
) -> Measurement:
    comps = dict(components or {})
    if kind == "blood_pressure":
        comps.update({"systolic": systolic, "diastolic": diastolic})
    pk = uuid.uuid4()
    return Measurement(
        id=pk,
        patient_system=SYSTEM_FNR,
        patient_value=patient,
        patient_display=name,
        kind=kind,
        code_system="http://snomed.info/sct" if kind == "news2" else "http://loinc.org",
        code=CODES.get(kind, "0000-0"),
        effective=effective,
        status=status,
        value=None if kind == "blood_pressure" else value,
        unit=UNITS.get(kind, ""),
        components=comps,
        reference_low=reference[0],
        reference_high=reference[1],
        source_orgnr=source,
        dedup_key=f"factory:{pk}",
        flags=list(flags),
    )


def store(rows: Iterable[Measurement]) -> list[Measurement]:
    rows = list(rows)
    storage.insert(rows)  # as ingest writes them (server-side binding): a year in a quarter of the time
    sources = {(m.patient_value, m.source_orgnr): m for m in rows}
    PatientSource.objects.bulk_create(
        [
            PatientSource(patient_value=p, patient_system=m.patient_system, source_orgnr=s, display=m.patient_display)
            for (p, s), m in sources.items()
        ],
        ignore_conflicts=True,
    )
    return rows


def _reading(kind: str, progress: float, rng: random.Random) -> dict[str, Any]:
    """A plausible reading for a heart-failure patient who worsens towards the end of the year."""
    late = max(0.0, (progress - 0.94) / 0.06)  # 0 -> 1 over the last three weeks
    wave = math.sin(progress * 2 * math.pi * 3)
    noise = rng.gauss
    if kind == "blood_pressure":
        systolic = round(132 + 4 * wave + 10 * late + noise(0, 7))
        return {"systolic": systolic, "diastolic": round(systolic * 0.6 + noise(0, 4))}
    if kind == "heart_rate":
        return {"value": round(72 + 3 * wave + 12 * late + noise(0, 5))}
    if kind == "oxygen_saturation":
        return {"value": min(100, round(96 - 2 * late + noise(0, 1)))}
    if kind == "body_weight":
        return {"value": round(81 + 0.8 * wave + 3.5 * late + noise(0, 0.3), 1)}
    if kind == "glucose":
        return {"value": round(max(3.2, 6.8 + noise(0, 1.4)), 1)}
    if kind == "body_temperature":
        return {"value": round(36.8 + noise(0, 0.25), 1)}
    if kind == "respiratory_rate":
        return {"value": round(16 + 3 * late + noise(0, 1.5))}
    if kind == "news2":
        scores = {part: 0 for part in NEWS2_PARTS}
        for _ in range(max(0, round(1 + 3 * late + noise(0, 1)))):
            part = rng.choice(NEWS2_PARTS)
            scores[part] = min(3, scores[part] + 1)
        return {"value": sum(scores.values()), "components": scores}
    raise ValueError(kind)


def year_of_readings(
    *,
    end: dt.datetime | None = None,
    days: int = 365,
    per_day: int = 4,
    kinds: Sequence[str] = SIX_KINDS,
    patient: str = KARI,
    name: str = KARI_NAME,
    source: str = OSLO,
    seed: int = 7,
) -> Iterator[Measurement]:
    """`per_day` readings of each kind every day for `days` days, the newest an hour before `end`.

    A few are amended and a few entered in error (those must never be shown).
    """
    rng = random.Random(f"{patient}:{seed}")  # noqa: S311 - test data, not security
    end = (end or timezone.now()) - dt.timedelta(hours=1)
    step = dt.timedelta(hours=24 / per_day)
    total = days * per_day
    for i in range(total):
        at = end - (total - 1 - i) * step
        for kind in kinds:
            reading = _reading(kind, i / total, rng)
            status = "amended" if rng.random() < 0.01 else "final"
            if rng.random() < 0.002:
                status = "entered-in-error"
                reading = {k: (v * 3 if isinstance(v, int | float) else v) for k, v in reading.items()}
            yield measurement(
                kind=kind, effective=at, patient=patient, name=name, source=source, status=status, **reading
            )


def seed_year(**kwargs: Any) -> list[Measurement]:
    return store(year_of_readings(**kwargs))


def shown_on_days(first: dt.date, last: dt.date, *, patient: str = KARI, kind: str | None = None) -> int:
    """How many of the patient's readings a clinician may see fall on the local days `first`..`last`
    (the seeded data ends an hour before now, so how many fall on today depends on the hour)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    rows = Measurement.objects.for_patient(patient).visible().filter(effective__gte=start, effective__lt=end)
    return (rows.filter(kind=kind) if kind else rows).count()
