"""Synthetic national-scale data for benchmarks: realistic DHO series, loaded with PostgreSQL COPY.

Each patient follows one of a few clinical stories (heart failure gaining weight, COPD with
SpO₂ dips, diabetes, hypertension), measures one to four times a day with a daily rhythm,
skips days, and now and then a value is corrected. Rows go straight into the measurement,
raw-resource and patient-source tables with COPY (no ORM, no per-row INSERT), and an access
history is appended to the audit log with a valid hash chain.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from devdata.guard import refuse_in_production
from sharing.audit.actions import CHAIN_LOCK_ID, CHAINED_FIELDS, GENESIS_HASH, compute_hash
from sharing.audit.models import AuditEvent, AuditEventMunicipality
from sharing.fhir.build import observation
from sharing.measurements.models import Measurement, PatientSource, RawResource

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
STORIES = {
    "heart_failure": ("body_weight", "blood_pressure", "heart_rate", "oxygen_saturation"),
    "copd": ("oxygen_saturation", "heart_rate", "respiratory_rate", "body_temperature"),
    "diabetes": ("glucose", "blood_pressure", "body_weight"),
    "hypertension": ("blood_pressure", "heart_rate"),
}
UNITS = {
    "heart_rate": "/min",
    "oxygen_saturation": "%",
    "body_temperature": "Cel",
    "body_weight": "kg",
    "respiratory_rate": "/min",
    "glucose": "mmol/L",
    "blood_pressure": "mm[Hg]",
}
CODES = {
    "heart_rate": "8867-4",
    "oxygen_saturation": "2708-6",
    "body_temperature": "8310-5",
    "body_weight": "29463-7",
    "respiratory_rate": "9279-1",
    "glucose": "15074-8",
    "blood_pressure": "85354-9",
}
DISPLAYS = {
    "heart_rate": "Heart rate",
    "oxygen_saturation": "Oxygen saturation",
    "body_temperature": "Body temperature",
    "body_weight": "Body weight",
    "respiratory_rate": "Respiratory rate",
    "glucose": "Glucose",
    "blood_pressure": "Blood pressure panel",
}
FIRST_NAMES = ("Kari", "Ola", "Ingrid", "Per", "Aud", "Jon", "Liv", "Arne", "Solveig", "Knut", "Randi", "Terje")
LAST_NAMES = ("Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg", "Haugen", "Dahl")


def synthetic_fnr(rng: random.Random) -> str:
    """A checksum-valid Tenor (month + 80) fødselsnummer for someone born 1930–1979."""
    while True:
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(50 * 365))
        base = f"{born.day:02d}{born.month + 80:02d}{born.year % 100:02d}{rng.randrange(500):03d}"
        digits = [int(c) for c in base]
        k1 = (11 - sum(w * d for w, d in zip(W1, digits, strict=True)) % 11) % 11
        if k1 == 10:
            continue
        k2 = (11 - sum(w * d for w, d in zip(W2, [*digits, k1], strict=True)) % 11) % 11
        if k2 != 10:
            return f"{base}{k1}{k2}"


@dataclass(frozen=True)
class GeneratedPatient:
    pid: str
    name: str
    story: str
    kinds: tuple[str, ...]
    per_day: int
    municipality: str


def patients(count: int, municipalities: list[str], seed: int = 42) -> list[GeneratedPatient]:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    seen: set[str] = set()
    result: list[GeneratedPatient] = []
    while len(result) < count:
        pid = synthetic_fnr(rng)
        if pid in seen:
            continue
        seen.add(pid)
        story = rng.choice(list(STORIES))
        result.append(
            GeneratedPatient(
                pid=pid,
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                story=story,
                kinds=STORIES[story],
                per_day=rng.choice((1, 1, 2, 4)),
                municipality=municipalities[len(result) % len(municipalities)],
            )
        )
    return result


def _reading(kind: str, t: float, hour: int, episode: float, rng: random.Random) -> dict[str, Any]:
    """t runs 0 → 1 over the follow-up; hour gives the daily rhythm; episode is 0 → 1 in a flare-up."""
    rhythm = math.sin((hour - 4) / 24 * 2 * math.pi)
    g = rng.gauss
    if kind == "body_weight":
        return {"value": round(80 + 4 * t + 3 * episode + g(0, 0.3), 1)}
    if kind == "blood_pressure":
        systolic = round(135 + 8 * rhythm + 6 * episode + g(0, 6))
        return {"systolic": systolic, "diastolic": round(systolic * 0.6 + g(0, 4))}
    if kind == "heart_rate":
        return {"value": round(72 + 6 * rhythm + 14 * episode + g(0, 4))}
    if kind == "oxygen_saturation":
        return {"value": min(100, round(95 - 7 * episode + g(0, 0.8)))}
    if kind == "respiratory_rate":
        return {"value": round(16 + 8 * episode + g(0, 1.2))}
    if kind == "body_temperature":
        return {"value": round(36.7 + 0.3 * rhythm + 1.5 * episode + g(0, 0.15), 1)}
    return {"value": round(max(3.5, 7 + 2 * rhythm + g(0, 1.2)), 1)}  # glucose


def series(patient: GeneratedPatient, *, days: int, end: dt.date, rng: random.Random) -> Iterator[dict[str, Any]]:
    """One patient's measurements as VkpObservations, oldest first."""
    hours = {1: (8,), 2: (8, 20), 4: (7, 12, 17, 22)}[patient.per_day]
    episodes = [rng.randrange(days) for _ in range(max(1, days // 120))]
    for day in range(days):
        if rng.random() < 0.07:  # a missing day
            continue
        date = end - dt.timedelta(days=days - 1 - day)
        episode = max(math.exp(-(((day - e) / 5) ** 2)) for e in episodes)
        for hour in hours:
            at = dt.datetime(date.year, date.month, date.day, hour, rng.randrange(60), tzinfo=dt.UTC)
            for kind in patient.kinds:
                yield observation(
                    kind=kind,
                    patient=patient.pid,
                    patient_name=patient.name,
                    effective=at,
                    municipality_orgnr=patient.municipality,
                    status="amended" if rng.random() < 0.002 else "final",
                    **_reading(kind, day / days, hour, episode, rng),
                )


def _row(resource: dict[str, Any], municipality: str) -> tuple[dict[str, Any], str]:
    """The measurement table's values for a resource built by `observation()`."""
    kind_code = resource["code"]["coding"][0]["code"]
    kind = _KIND_BY_CODE[kind_code]
    components: dict[str, float] = {}
    value = None
    if kind == "blood_pressure":
        components = {
            "systolic": resource["component"][0]["valueQuantity"]["value"],
            "diastolic": resource["component"][1]["valueQuantity"]["value"],
        }
    else:
        value = resource["valueQuantity"]["value"]
    identifier = resource["identifier"][0]
    values = {
        "id": uuid.uuid4(),
        "patient_system": resource["subject"]["identifier"]["system"],
        "patient_value": resource["subject"]["identifier"]["value"],
        "patient_display": resource["subject"]["display"],
        "kind": kind,
        "code_system": "http://loinc.org",
        "code": kind_code,
        "code_display": DISPLAYS[kind],
        "effective": resource["effectiveDateTime"],
        "status": resource["status"],
        "value": value,
        "unit": UNITS[kind],
        "components": json.dumps(components),
        "source_orgnr": municipality,
        "dedup_key": f"identifier:{identifier['system']}|{identifier['value']}",
        "flags": "[]",
        "received_at": resource["effectiveDateTime"],
    }
    return values, json.dumps(resource, separators=(",", ":"))


_KIND_BY_CODE = {code: kind for kind, code in CODES.items()}


def _column(model: Any, attname: str) -> str:
    return str(model._meta.get_field(attname).column)


def _defaults(model: Any, provided: dict[str, Any]) -> dict[str, Any]:
    """Values for the columns the generator does not set, kept in step with the model."""
    out: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.attname in provided or field.primary_key:
            continue
        if field.has_default():
            default = field.get_default()
            out[field.attname] = json.dumps(default) if isinstance(default, list | dict) else default
        elif field.null:
            out[field.attname] = None
        elif field.get_internal_type() in {"CharField", "TextField"}:
            out[field.attname] = ""
        else:
            raise RuntimeError(f"generate_data does not know how to fill {model.__name__}.{field.attname}")
    return out


def load_measurements(
    group: list[GeneratedPatient], *, days: int, end: dt.date, seed: int, progress: Callable[[int], None]
) -> int:
    """COPY the series of `group` into the database; returns the number of measurements."""
    rng = random.Random(seed)  # noqa: S311
    rows: list[dict[str, Any]] = []
    raws: list[tuple[uuid.UUID, str]] = []
    for patient in group:
        for resource in series(patient, days=days, end=end, rng=rng):
            values, raw = _row(resource, patient.municipality)
            rows.append(values)
            raws.append((values["id"], raw))
    if not rows:
        return 0
    extra = _defaults(Measurement, rows[0])
    names = [f.attname for f in Measurement._meta.concrete_fields if f.attname in rows[0] or f.attname in extra]
    columns = [_column(Measurement, n) for n in names]
    with transaction.atomic(), connection.cursor() as cursor:
        raw_cursor = cursor.cursor
        with raw_cursor.copy(f"COPY {Measurement._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row([values[n] if n in values else extra[n] for n in names])
        raw_table = RawResource._meta.db_table
        with raw_cursor.copy(f"COPY {raw_table} (measurement_id, resource) FROM STDIN") as copy:
            for row in raws:
                copy.write_row(row)
        PatientSource.objects.bulk_create(
            [
                PatientSource(
                    patient_value=p.pid,
                    patient_system=rows[0]["patient_system"],
                    source_orgnr=p.municipality,
                    display=p.name,
                )
                for p in group
            ],
            ignore_conflicts=True,
        )
    progress(len(rows))
    return len(rows)


def load_audit_history(
    count: int, group: list[GeneratedPatient], *, days: int, seed: int, progress: Callable[[int], None]
) -> None:
    """Append `count` lookup records (granted, a few denied) with a valid hash chain and their
    municipality index rows, as `record_event` would have written them.

    The one writer of the log besides `record_event`: a documented bulk path for generated data,
    under the chain's own lock (CHAIN_LOCK_ID) and hash (compute_hash), refused in production.
    """
    refuse_in_production("generate_data")
    rng = random.Random(seed)  # noqa: S311
    now = timezone.now()
    users = [(f"sub-{i}", f"Lege {i}", f"5655{i:05d}") for i in range(200)]
    table, index_table = AuditEvent._meta.db_table, AuditEventMunicipality._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])
        head = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
        next_id, last = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
        fields = ["id", *CHAINED_FIELDS, "municipalities", "hash"]
        extra = _defaults(AuditEvent, dict.fromkeys(fields))
        names = fields + list(extra)
        columns = [_column(AuditEvent, n) for n in names]
        start = now - dt.timedelta(days=days)
        step = dt.timedelta(days=days) / max(count, 1)
        index_rows: list[tuple[int, str, dt.datetime]] = []
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for i in range(count):
                patient = rng.choice(group)
                sub, name, hpr = rng.choice(users)
                granted = rng.random() > 0.03
                values: dict[str, Any] = {
                    "id": next_id + i,
                    "occurred_at": start + step * i,
                    "event": "patient.lookup",
                    "outcome": "granted" if granted else "denied",
                    "actor_sub": sub,
                    "actor_pid": "",
                    "actor_hpr": hpr,
                    "actor_name": name,
                    "actor_role": "clinician",
                    "org_parent": "312222019",
                    "org_parent_name": "Lovisenberg Diakonale Sykehus",
                    "org_child": "",
                    "org_child_name": "",
                    "patient_system": "urn:oid:2.16.578.1.12.4.1.4.1",
                    "patient_value": patient.pid,
                    "data": {"municipalities": [patient.municipality], "count": rng.randrange(1, 500)}
                    if granted
                    else {"denial": "no-agreement"},
                    "basis": "care",
                    "reason": "Innlagt",
                    "client_id": "maaledata-portal",
                    "request_id": "",
                    "municipalities": patient.municipality,
                    "prev_hash": last,
                }
                values["hash"] = last = compute_hash(values)
                values["data"] = json.dumps(values["data"])
                copy.write_row([values[n] if n in values else extra[n] for n in names])
                index_rows.append((values["id"], patient.municipality, values["occurred_at"]))
                if i % 10_000 == 9_999:
                    progress(10_000)
        with cursor.cursor.copy(f"COPY {index_table} (event_id, municipality, occurred_at) FROM STDIN") as copy:
            for row in index_rows:
                copy.write_row(row)
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [next_id + count - 1])
    progress(count % 10_000)
