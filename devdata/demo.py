"""Synthetic demo data: Oslo, its partners, agreements and patients with 90 days of home measurements.

Measurements are built as VkpObservations and stored through the same ingest code a VKP
feed uses. Every identifier is synthetic (Tenor fødselsnummer, Test-Norge orgnr).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from sharing.access.models import RoleGrant
from sharing.access.roles import grant_role
from sharing.agreements.actions import create_active_agreement, register_organisation
from sharing.agreements.models import Agreement, Organisation
from sharing.core.actor import Actor, Role
from sharing.core.basis import Basis
from sharing.fhir.build import observation
from sharing.fhir.ingest import normalise_for
from sharing.measurements.actions import record_measurements

OSLO = "311111019"
BAERUM = "315555019"
LOVISENBERG = "312222019"
LOVISENBERG_MEDICAL = "312345013"
SAGENE_GP = "313333019"
FJORDVIK = "314444019"
OPERATOR = "316666019"
TZ = ZoneInfo("Europe/Oslo")
SEEDER = Actor(name="seed_demo", roles=frozenset({Role.SYSTEM_ADMIN}), client_id="seed_demo")


@dataclass(frozen=True)
class DemoPatient:
    pid: str
    name: str
    story: str
    kinds: tuple[str, ...]


PATIENTS = (
    DemoPatient(
        "30875928763",
        "Kari Nordmann",
        "heart failure, gaining weight in the last weeks",
        ("body_weight", "blood_pressure", "heart_rate", "oxygen_saturation"),
    ),
    DemoPatient(
        "14904839826",
        "Per Olsen",
        "COPD with an exacerbation a month ago",
        ("oxygen_saturation", "heart_rate", "respiratory_rate", "body_temperature"),
    ),
    DemoPatient(
        "02923712995",
        "Aud Johansen",
        "type 2 diabetes and hypertension",
        ("glucose", "blood_pressure", "body_weight", "heart_rate"),
    ),
)


def seed_organisations() -> dict[str, Organisation]:
    kinds = Organisation.Kind
    orgs = {
        OSLO: register_organisation(orgnr=OSLO, name="Oslo kommune", kind=kinds.MUNICIPALITY),
        BAERUM: register_organisation(orgnr=BAERUM, name="Bærum kommune", kind=kinds.MUNICIPALITY),
        LOVISENBERG: register_organisation(
            orgnr=LOVISENBERG, name="Lovisenberg Diakonale Sykehus", kind=kinds.HOSPITAL
        ),
        SAGENE_GP: register_organisation(orgnr=SAGENE_GP, name="Sagene legesenter", kind=kinds.GP_OFFICE),
        FJORDVIK: register_organisation(orgnr=FJORDVIK, name="Fjordvik sykehus", kind=kinds.HOSPITAL),
        OPERATOR: register_organisation(orgnr=OPERATOR, name="Måledata Drift AS", kind=kinds.OTHER),
    }
    orgs[LOVISENBERG_MEDICAL] = register_organisation(
        orgnr=LOVISENBERG_MEDICAL, name="Lovisenberg, medisinsk klinikk", kind=kinds.HOSPITAL, parent=orgs[LOVISENBERG]
    )
    return orgs


def seed_agreements(orgs: dict[str, Organisation], *, today: dt.date) -> None:
    """Oslo shares with Lovisenberg (everything) and Sagene legesenter (90 days); Fjordvik has none."""
    if Agreement.objects.filter(controller=orgs[OSLO]).exists():
        return
    create_active_agreement(
        controller=orgs[OSLO],
        consumer=orgs[LOVISENBERG],
        valid_from=today - dt.timedelta(days=365),
        bases=(Basis.CARE, Basis.CONSENT, Basis.EMERGENCY),
        purpose="Oppfølging av felles pasienter i digital hjemmeoppfølging",
        by=SEEDER,
    )
    create_active_agreement(
        controller=orgs[OSLO],
        consumer=orgs[SAGENE_GP],
        valid_from=today - dt.timedelta(days=180),
        lookback_days=90,
        purpose="Fastlegens oppfølging av listepasienter",
        by=SEEDER,
    )


def _series(kind: str, day: int, days: int, rng: random.Random) -> dict[str, Any]:
    """One realistic reading on `day` (0 = oldest) of a `days`-long follow-up."""
    late = max(0.0, (day - (days - 21)) / 21)  # 0 → 1 over the last three weeks
    episode = math.exp(-(((day - (days - 30)) / 4) ** 2))  # a COPD dip a month ago
    noise = rng.gauss
    if kind == "body_weight":
        return {"value": round(82 + 3.5 * late + noise(0, 0.3), 1)}
    if kind == "blood_pressure":
        sys_ = round(138 + 6 * late + noise(0, 6))
        return {"systolic": sys_, "diastolic": round(sys_ * 0.6 + noise(0, 4))}
    if kind == "heart_rate":
        return {"value": round(74 + 8 * late + 12 * episode + noise(0, 4))}
    if kind == "oxygen_saturation":
        return {"value": min(100, round(95 - 1.5 * late - 6 * episode + noise(0, 0.8)))}
    if kind == "respiratory_rate":
        return {"value": round(16 + 7 * episode + noise(0, 1.2))}
    if kind == "body_temperature":
        return {"value": round(36.8 + 1.4 * episode + noise(0, 0.2), 1)}
    if kind == "glucose":
        return {"value": round(max(3.5, 7.2 + noise(0, 1.3)), 1)}
    raise ValueError(kind)


def patient_observations(patient: DemoPatient, *, days: int, end: dt.date, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(f"{patient.pid}:{seed}")  # noqa: S311 - demo data, not security
    for day in range(days):
        date = end - dt.timedelta(days=days - 1 - day)
        if rng.random() < 0.06:  # patients skip a day now and then
            continue
        for kind in patient.kinds:
            at = dt.datetime.combine(date, dt.time(8, rng.randint(0, 50)), tzinfo=TZ)
            reading = _series(kind, day, days, rng)
            yield observation(
                kind=kind,
                patient=patient.pid,
                patient_name=patient.name,
                effective=at,
                municipality_orgnr=OSLO,
                identifier=f"demo-{patient.pid}-{kind}-{date.isoformat()}",
                **reading,
            )


def seed_measurements(*, days: int, progress: Callable[[int], None] | None = None) -> int:
    today = timezone.localdate()
    now = timezone.now()
    stored = 0
    for patient in PATIENTS:
        resources = list(patient_observations(patient, days=days, end=today))
        items = [(normalise_for(resource, OSLO, now=now), resource) for resource in resources]
        with transaction.atomic():
            results = record_measurements(items=items, source_orgnr=OSLO)
        stored += sum(result.created for result in results)
        if progress:
            progress(len(items))
    return stored


# Demo people (devidp/persons.json): (pid, name, role, municipality orgnr or None).
DEMO_GRANTS: tuple[tuple[str, str, Role, str | None], ...] = (
    ("17817213715", "Astrid Holm", Role.MUNICIPALITY_ADMIN, "311111019"),
    ("28828537581", "Jonas Strand", Role.AUDITOR, "311111019"),
    ("11916933853", "Berit Lie", Role.MUNICIPALITY_ADMIN, "315555019"),
    ("26839233123", "Tor Nes", Role.AUDITOR, "315555019"),
    ("03847733283", "Siri Moe", Role.SYSTEM_ADMIN, None),
    ("19888338694", "Leif Aas", Role.SERVICE_AUDITOR, None),
)


def seed_demo_grants(*, by: Actor) -> int:
    """Grant the demo people their roles (once; organisations must exist). Returns how many were new."""
    created = 0
    for pid, name, role, orgnr in DEMO_GRANTS:
        municipality = Organisation.objects.get(orgnr=orgnr) if orgnr else None
        held = RoleGrant.objects.live().filter(pid=pid, role=role, municipality=municipality).exists()
        if not held:
            grant_role(pid=pid, name=name, role=role, municipality=municipality, by=by)
            created += 1
    return created
