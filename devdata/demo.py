"""Synthetic demo data: Oslo, its partners, agreements and patients with a year of home measurements.

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
from sharing.agreements.actions import (
    authorise_sender,
    create_active_agreement,
    record_processing_agreement,
    register_organisation,
    set_municipality_number,
)
from sharing.agreements.models import Agreement, Organisation, ProcessingAgreement
from sharing.core.actor import Actor, Role
from sharing.core.basis import Basis
from sharing.fhir.build import observation
from sharing.fhir.ingest import normalise_for
from sharing.identifiers import SYSTEM_FNR, SYSTEM_ORGNR
from sharing.measurements.actions import record_measurements

OSLO = "311111019"
BAERUM = "315555019"
LOVISENBERG = "312222019"
LOVISENBERG_MEDICAL = "312345013"
SAGENE_GP = "313333019"
FJORDVIK = "314444019"
OPERATOR = "316666019"
# The national welfare-technology hub's client (VKP), sending for several municipalities.
HUB_CLIENT = "vkp-hub"
MUNICIPALITY_NUMBERS = {OSLO: "0301", BAERUM: "3201"}
TZ = ZoneInfo("Europe/Oslo")
SEEDER = Actor(name="seed_demo", roles=frozenset({Role.SYSTEM_ADMIN}), client_id="seed_demo")


@dataclass(frozen=True)
class DemoPatient:
    pid: str
    name: str
    story: str
    kinds: tuple[str, ...]


# Who shows what (README, "Demo patients"); the stories end on the day the demo is seeded.
PATIENTS = (
    DemoPatient(
        "30875928763",
        "Kari Nordmann",
        "heart failure, decompensating: 3.5 kg gained in two weeks (2 kg in the last 3 days), blood pressure "
        "rising above the home limit 135/85; the default thresholds",
        ("body_weight", "blood_pressure", "heart_rate", "oxygen_saturation"),
    ),
    DemoPatient(
        "14904839826",
        "Per Olsen",
        "COPD with an exacerbation now (and one in the spring): SpO2 falling within the municipality's "
        "target 88-92 % (NEWS2 scale 2), breathing faster, NEWS2 rising",
        ("oxygen_saturation", "heart_rate", "respiratory_rate", "body_temperature", "news2"),
    ),
    DemoPatient(
        "02923712995",
        "Aud Johansen",
        "type 2 diabetes and hypertension: glucose swinging from hypos to highs, measured three times a day "
        "against the municipality's own targets (glucose 5-12 mmol/L, blood pressure 130/80)",
        ("glucose", "blood_pressure", "body_weight", "heart_rate"),
    ),
)
NURSE_FNR = "15888540285"  # the vital-sign profiles' performer: a (synthetic) home-care nurse
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
MEANING = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
DEVICES = {
    "body_weight": "Dignio Prevent vekt",
    "blood_pressure": "Omron M7 Intelli IT",
    "heart_rate": "Omron M7 Intelli IT",
    "oxygen_saturation": "Nonin 3230 pulsoksymeter",
    "respiratory_rate": "Egenregistrert i MyDignio",
    "body_temperature": "Braun ThermoScan 7",
    "glucose": "Accu-Chek Guide",
}
# The municipality's own ranges (its follow-up plan), sent as referenceRange: (low, high, unit).
PLAN_RANGES: dict[tuple[str, str], tuple[float | None, float | None, str]] = {
    ("14904839826", "oxygen_saturation"): (88, 92, "%"),
    ("02923712995", "glucose"): (5.0, 12.0, "mmol/L"),
    ("02923712995", "systolic"): (100, 130, "mm[Hg]"),
    ("02923712995", "diastolic"): (60, 80, "mm[Hg]"),
}
_NOTES = {
    ("30875928763", 2): "Hovne ankler, sover med tre puter",
    ("30875928763", 0): "Tung i pusten i trapper",
    ("14904839826", 6): "Mer slim, gulgrønt",
    ("14904839826", 1): "Startet kortisonkur etter telefon med fastlegen",
    ("02923712995", 40): "Bursdag, kake",
    ("02923712995", 3): "Skjelven før frokost, tok druesukker",
}


def _range(low: float | None, high: float | None, unit: str) -> dict[str, Any]:
    rr: dict[str, Any] = {"type": {"coding": [{"system": MEANING, "code": "treatment"}], "text": "Oppfølgingsplan"}}
    for name, bound in (("low", low), ("high", high)):
        if bound is not None:
            rr[name] = {"value": bound, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    return rr


def _light(outside: bool, far: bool) -> dict[str, Any]:
    code, text = ("AA", "Rød") if far else ("A", "Gul") if outside else ("N", "Grønn")
    return {"coding": [{"system": INTERPRETATION, "code": code}], "text": text}


def _reading(pid: str, kind: str, day: int, days: int, slot: int, rng: random.Random) -> dict[str, Any]:
    """One plausible reading on `day` (0 = oldest) of a `days`-long follow-up, per patient's story."""
    to_end = days - 1 - day  # 0 = today
    noise = rng.gauss
    season = math.sin(2 * math.pi * day / 365)
    if pid == PATIENTS[0].pid:  # heart failure: decompensating over the last two weeks
        late = max(0.0, (14 - to_end) / 14)  # 0 -> 1 over the last 14 days
        jump = max(0.0, (3 - to_end) / 3)  # the last 3 days add most of it
        if kind == "body_weight":
            return {"value": round(81.5 + 0.6 * season + 1.4 * late + 2.1 * jump + noise(0, 0.25), 1)}
        if kind == "blood_pressure":
            systolic = round(126 + 3 * season + 20 * late + noise(0, 5))
            return {"systolic": systolic, "diastolic": round(77 + 13 * late + noise(0, 3))}
        if kind == "heart_rate":
            return {"value": round(70 + 14 * late + noise(0, 4))}
        return {"value": min(99, round(96 - 2 * late + noise(0, 0.7)))}
    if pid == PATIENTS[1].pid:  # COPD: exacerbation now, and one in the spring
        now_episode = math.exp(-((to_end / 3) ** 2)) if to_end < 14 else 0.0  # worsening up to today
        episode = max(now_episode, math.exp(-(((to_end - 200) / 5) ** 2)))  # and one in the spring
        values = {
            "oxygen_saturation": round(90.5 - 5 * episode + noise(0, 0.6)),
            "heart_rate": round(78 + 15 * episode + noise(0, 3)),
            "respiratory_rate": round(17 + 7 * episode + noise(0, 1)),
            "body_temperature": round(36.8 + 1.2 * episode + noise(0, 0.15), 1),
        }
        return {"value": min(100, values[kind])} if kind in values else values
    # diabetes: swings through the day, hypos some mornings, highs after meals
    if kind == "glucose":
        base = (6.0, 11.5, 9.0)[slot] + 1.5 * season
        swing = rng.random()
        if slot == 0 and swing < 0.08:
            return {"value": round(rng.uniform(3.1, 3.9), 1)}
        if slot > 0 and swing < 0.12:
            return {"value": round(rng.uniform(13.0, 16.5), 1)}
        return {"value": round(max(3.5, base + noise(0, 1.6)), 1)}
    if kind == "blood_pressure":
        systolic = round(134 + 4 * season + noise(0, 7))
        return {"systolic": systolic, "diastolic": round(82 + noise(0, 4))}
    if kind == "body_weight":
        return {"value": round(94 - 2 * day / days + noise(0, 0.3), 1)}
    return {"value": round(74 + noise(0, 5))}


# NEWS2 scale 2 (SpO2 in hypercapnic respiratory failure) and the other parameters (RCP 2017).
def _news2(vitals: dict[str, float]) -> dict[str, int]:
    spo2, resp = vitals["oxygen_saturation"], vitals["respiratory_rate"]
    pulse, temp = vitals["heart_rate"], vitals["body_temperature"]
    return {
        "resp_rate": 3 if resp <= 8 or resp >= 25 else 2 if resp >= 21 else 1 if resp <= 11 else 0,
        "spo2_scale2": 3 if spo2 <= 83 else 2 if spo2 <= 85 else 1 if spo2 <= 87 else 0,
        "air_or_oxygen": 0,
        "pulse": 3 if pulse <= 40 or pulse >= 131 else 2 if pulse >= 111 else 1 if pulse <= 50 or pulse >= 91 else 0,
        "systolic_bp": 0,
        "consciousness": 0,
        "temperature": 3 if temp <= 35 else 2 if temp >= 39.1 else 1 if temp <= 36 or temp >= 38.1 else 0,
    }


def _news2_observation(patient: DemoPatient, at: dt.datetime, scores: dict[str, int], ident: str) -> dict[str, Any]:
    from sharing.fhir.observation.profiles import BY_NAME, SCT

    parts = BY_NAME["news2"].components
    return {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{ident}"}],
        "status": "final",
        "code": {"coding": [{"system": SCT, "code": "1104051000000101", "display": "NEWS2 total score"}]},
        "subject": {"identifier": {"system": SYSTEM_FNR, "value": patient.pid}, "display": patient.name},
        "effectiveDateTime": at.isoformat(),
        "performer": [{"identifier": {"system": SYSTEM_ORGNR, "value": OSLO}, "display": "Oslo kommune"}],
        "valueQuantity": {"value": sum(scores.values())},
        "component": [
            {"code": {"coding": [{"system": c.system, "code": c.code}]}, "valueInteger": scores[spec.key]}
            for spec in parts
            for c in spec.codes[:1]
        ],
    }


def _extra(patient: DemoPatient, kind: str, reading: dict[str, float], note: str, gain: float = 0.0) -> dict[str, Any]:
    """referenceRange, interpretation, note and device, as the municipality's DHO system sends them."""
    extra: dict[str, Any] = {"device": {"display": DEVICES[kind]}} if kind in DEVICES else {}
    plan = PLAN_RANGES.get((patient.pid, kind))
    defaults = {"oxygen_saturation": (96, None), "body_temperature": (36.0, 38.0), "heart_rate": (50, 100),
                "respiratory_rate": (12, 20), "glucose": (4.0, 10.0)}  # fmt: skip
    if plan is not None:
        extra["referenceRange"] = [_range(*plan)]
    if kind == "body_weight":
        extra["interpretation"] = [_light(gain >= 2.0, False)]
    elif kind == "blood_pressure":
        limit = PLAN_RANGES.get((patient.pid, "systolic"), (None, 135, ""))[1] or 135
        outside = kind == "blood_pressure" and reading["systolic"] > limit
        extra["interpretation"] = [_light(outside, False)]
    elif kind in defaults:
        low, high = (plan[0], plan[1]) if plan else defaults[kind]
        value = reading["value"]
        outside = (low is not None and value < low) or (high is not None and value > high)
        far = (low is not None and value < low - 3) or (high is not None and value > high * 1.3)
        far = far or (kind == "glucose" and value < 4.0)  # hypoglycaemia: red whatever the plan says
        extra["interpretation"] = [_light(outside, far)]
    if note:
        extra["note"] = [{"text": note}]
    return extra


def _gain(weights: list[float], reading: dict[str, Any]) -> float:
    return reading["value"] - min(weights[:-1]) if "value" in reading and len(weights) > 1 else 0.0


def patient_observations(patient: DemoPatient, *, days: int, end: dt.date, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(f"{patient.pid}:{seed}")  # noqa: S311 - demo data, not security
    now = dt.datetime.now(TZ)
    weights: list[float] = []
    for day in range(days):
        date = end - dt.timedelta(days=days - 1 - day)
        to_end = days - 1 - day
        if to_end > 3 and rng.random() < 0.06:  # patients skip a day now and then (not the last few)
            continue
        vitals: dict[str, float] = {}
        weights = weights[-3:]  # the last three days' weights: the municipality's own weight-gain light
        for kind in patient.kinds:
            if kind == "news2":
                at = dt.datetime.combine(date, dt.time(8, 55), tzinfo=TZ)
                if at > now or not vitals:
                    continue
                ident = f"demo-{patient.pid}-news2-{date.isoformat()}"
                yield _news2_observation(patient, at, _news2(vitals), ident)
                continue
            slots = 3 if kind == "glucose" else 1
            for slot in range(slots):
                at = dt.datetime.combine(date, dt.time((8, 13, 19)[slot], rng.randint(0, 50)), tzinfo=TZ)
                reading = _reading(patient.pid, kind, day, days, slot, rng)
                if at > now:  # today's later readings are still to come
                    continue
                vitals[kind] = reading.get("value", 0.0)
                if kind == "body_weight":
                    weights.append(reading["value"])
                note = _NOTES.get((patient.pid, to_end), "") if kind == patient.kinds[0] and slot == 0 else ""
                resource = observation(
                    kind=kind,
                    patient=patient.pid,
                    patient_name=patient.name,
                    effective=at,
                    municipality_orgnr=OSLO,
                    identifier=f"demo-{patient.pid}-{kind}-{date.isoformat()}-{slot}",
                    performer_fnr=NURSE_FNR,
                    extra=_extra(patient, kind, reading, note, gain=_gain(weights, reading)),
                    **reading,
                )
                for component, part in zip(resource.get("component", ()), ("systolic", "diastolic"), strict=False):
                    if (plan := PLAN_RANGES.get((patient.pid, part))) is not None:
                        component["referenceRange"] = [_range(*plan)]
                yield resource


def expected_count(days: int) -> int:
    """About how many observations `seed_measurements(days=...)` sends (for the progress bar)."""
    return sum(sum(3 if k == "glucose" else 1 for k in p.kinds) for p in PATIENTS) * days


def seed_organisations() -> dict[str, Organisation]:
    kinds = Organisation.Kind
    orgs = {
        OSLO: register_organisation(by=SEEDER, orgnr=OSLO, name="Oslo kommune", kind=kinds.MUNICIPALITY),
        BAERUM: register_organisation(by=SEEDER, orgnr=BAERUM, name="Bærum kommune", kind=kinds.MUNICIPALITY),
        LOVISENBERG: register_organisation(
            by=SEEDER, orgnr=LOVISENBERG, name="Lovisenberg Diakonale Sykehus", kind=kinds.HOSPITAL
        ),
        SAGENE_GP: register_organisation(by=SEEDER, orgnr=SAGENE_GP, name="Sagene legesenter", kind=kinds.GP_OFFICE),
        FJORDVIK: register_organisation(by=SEEDER, orgnr=FJORDVIK, name="Fjordvik sykehus", kind=kinds.HOSPITAL),
        OPERATOR: register_organisation(by=SEEDER, orgnr=OPERATOR, name="Måledata Drift AS", kind=kinds.OTHER),
    }
    orgs[LOVISENBERG_MEDICAL] = register_organisation(
        by=SEEDER,
        orgnr=LOVISENBERG_MEDICAL,
        name="Lovisenberg, medisinsk klinikk",
        kind=kinds.HOSPITAL,
        parent=orgs[LOVISENBERG],
    )
    seed_memberships(orgs)
    return orgs


# Who may act for which organisation (and unit): what each organisation's admin registers in the
# portal, since HelseID does not know where a person works. (name, pid, hpr, legal entity, unit,
# organisation admin). Lars Bu (devidp/persons.json) is registered nowhere.
MEMBERS: tuple[tuple[str, str, str, str, str, bool], ...] = (
    ("Ingrid Berg", "", "565501872", LOVISENBERG, LOVISENBERG_MEDICAL, False),
    ("Nina Lund", "09899012469", "", LOVISENBERG, LOVISENBERG_MEDICAL, False),
    ("Emil Vik", "05857014830", "", LOVISENBERG, LOVISENBERG_MEDICAL, False),
    ("Knut Rud", "14897310016", "", LOVISENBERG, LOVISENBERG_MEDICAL, False),
    ("Marte Eik", "03857030019", "", LOVISENBERG, LOVISENBERG_MEDICAL, False),
    ("Eva Ruud", "12817550000", "", LOVISENBERG, "", True),
    ("Sara Lunde", "21887910186", "", LOVISENBERG, "", False),
    ("Ola Hansen", "04916517721", "", SAGENE_GP, "", False),
    ("Hilde Sand", "22868520071", "", SAGENE_GP, "", False),
    ("Marte Eik", "03857030019", "", SAGENE_GP, "", False),
    ("Per Dahl", "23868130261", "", FJORDVIK, "", False),
    ("Astrid Holm", "17817213715", "", OSLO, "", False),
    ("Jonas Strand", "28828537581", "", OSLO, "", False),
    ("Berit Lie", "11916933853", "", BAERUM, "", False),
    ("Tor Nes", "26839233123", "", BAERUM, "", False),
    ("Siri Moe", "03847733283", "", OPERATOR, "", False),
    ("Leif Aas", "19888338694", "", OPERATOR, "", False),
)


def seed_memberships(orgs: dict[str, Organisation]) -> None:
    """The demo persons' memberships (once)."""
    from sharing.access.members import add_member
    from sharing.access.models import Membership

    if Membership.objects.exists():
        return
    start = dt.date(2020, 1, 1)
    for _name, pid, hpr, parent, unit, admin in MEMBERS:
        add_member(
            organisation=orgs[parent],
            unit=orgs[unit] if unit else None,
            pid=pid,
            hpr_number=hpr,
            valid_from=start,
            valid_to=None,
            is_admin=admin,
            by=SEEDER,
        )


def seed_agreements(orgs: dict[str, Organisation], *, today: dt.date) -> None:
    """Oslo shares with Lovisenberg (everything) and Sagene legesenter (90 days); Fjordvik has none.

    Also the processing side (``seed_processing``): Oslo's and Bærum's data processing agreements
    and their senders.
    """
    seed_processing(orgs, today=today)
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
        professions=("LE", "SP"),  # leger og sykepleiere, not Hilde Sand (fysioterapeut)
        purpose="Fastlegens oppfølging av listepasienter",
        by=SEEDER,
    )


def seed_processing(orgs: dict[str, Organisation], *, today: dt.date) -> None:
    """Oslo and Bærum: municipality numbers, a data processing agreement each, and their senders
    (each municipality's own VKP client, and the hub for both)."""
    if ProcessingAgreement.objects.filter(municipality=orgs[OSLO]).exists():
        return
    since = today - dt.timedelta(days=365)
    for orgnr, number in MUNICIPALITY_NUMBERS.items():
        municipality = orgs[orgnr]
        set_municipality_number(municipality=municipality, number=number, by=SEEDER)
        record_processing_agreement(
            municipality=municipality,
            reference=f"DBA-{number}-2025",
            signed_on=since,
            valid_from=since,
            contact=f"personvernombud@{number}.kommune.example",
            by=SEEDER,
        )
        own = {OSLO: "vkp-oslo", BAERUM: "vkp-baerum"}[orgnr]
        for client_id, name in ((own, f"VKP {municipality.name}"), (HUB_CLIENT, "Velferdsteknologisk knutepunkt")):
            authorise_sender(
                client_id=client_id,
                client_name=name,
                municipality=municipality,
                valid_from=since,
                instructed_by=f"{municipality.name}, brev {since.isoformat()}",
                by=SEEDER,
            )


# The morning round (readings 08:00–08:50, NEWS2 08:55) is in by then.
MORNING_ROUND_DONE = dt.time(9, 0)


def story_end(now: dt.datetime) -> dt.date:
    """The day the patients' stories reach their point: today once the morning round is in, else
    yesterday, so the demo tells the same stories at any hour (at 07:00 today has no readings yet)."""
    local = timezone.localtime(now, TZ)
    return local.date() if local.time() >= MORNING_ROUND_DONE else local.date() - dt.timedelta(days=1)


def seed_measurements(*, days: int, progress: Callable[[int], None] | None = None) -> int:
    now = timezone.now()
    end = story_end(now)
    stored = 0
    for patient in PATIENTS:
        resources = list(patient_observations(patient, days=days, end=end))
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
    # Lovisenberg's privacy officer: its own staff's reads in every municipality (issue 16).
    ("21887910186", "Sara Lunde", Role.ORG_AUDITOR, "312222019"),
)


def seed_demo_grants(*, by: Actor) -> int:
    """Grant the demo people their roles (once; organisations must exist). Returns how many were new."""
    created = 0
    for pid, _name, role, orgnr in DEMO_GRANTS:
        municipality = Organisation.objects.get(orgnr=orgnr) if orgnr else None
        held = RoleGrant.objects.live().filter(pid=pid, role=role, municipality=municipality).exists()
        if not held:
            grant_role(pid=pid, role=role, municipality=municipality, by=by)
            created += 1
    return created
