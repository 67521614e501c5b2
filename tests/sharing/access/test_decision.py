"""The access decision as a table: who asks, under which agreement, for which patient, on which basis.

Each row builds its world through the audited actions (agreements, reservations, the audit
record that opens an emergency window), asks `decide`, and checks the outcome and exactly which
measurements the granted scope lets through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from django.utils import timezone

from devdata import demo
from sharing.access.decision import DENIAL_MESSAGES, Decision, Denial, decide
from sharing.agreements import actions
from sharing.agreements.models import Agreement, Organisation
from sharing.audit.actions import record_event
from sharing.core.actor import Actor, Approval, Role
from sharing.core.basis import Basis
from sharing.measurements.models import Measurement, PatientSource
from tests.actors import INGRID

KARI = "30875928763"  # data in Oslo only
PER = "14904839826"  # data in Oslo and Bærum
NOBODY = "02923712995"  # no data anywhere
OTHER_UNIT = "312346001"  # Lovisenberg, kirurgisk klinikk: a unit of Lovisenberg the agreements may leave out
ADMIN = Actor(name="seed", pid="03847733283", client_id="test")

LEGE = Approval("LE", valid_from=dt.date(2010, 8, 1))
ACTORS = {
    "ingrid": INGRID,
    # HPR authorisations as hpr_details gives them (the portal's actors carry them).
    "ingrid-authorised": replace(INGRID, approvals=(LEGE,)),
    "ingrid-revoked": replace(INGRID, approvals=(Approval("LE", valid_from=dt.date(2010, 8, 1), revoked=True),)),
    "ingrid-expired": replace(INGRID, approvals=(Approval("LE", valid_to=dt.date(2020, 1, 1)),)),
    "ingrid-not-yet": replace(INGRID, approvals=(Approval("LE", valid_from=dt.date(2999, 1, 1)),)),
    "ingrid-no-approvals": replace(INGRID, approvals=()),
    "physio": replace(INGRID, hpr_number="565506059", name="Hilde Sand", approvals=(Approval("FT"),)),
    "nurse-and-physio": replace(INGRID, approvals=(Approval("FT"), Approval("SP"))),
    "ingrid-whole-org": replace(INGRID, orgnr_child=""),
    "ingrid-other-unit": replace(INGRID, orgnr_child=OTHER_UNIT),
    "colleague": replace(INGRID, sub="sub-kim", hpr_number="565509999", name="Kim"),
    "ola-gp": Actor(
        hpr_number="565502011", name="Ola Hansen", security_level="4", orgnr_parent=demo.SAGENE_GP, pid="04916517721"
    ),
    "per-fjordvik": Actor(hpr_number="565503020", name="Per Dahl", security_level="4", orgnr_parent=demo.FJORDVIK),
    "nina-no-hpr": Actor(name="Nina Lund", security_level="4", orgnr_parent=demo.LOVISENBERG),
    "emil-level-3": Actor(hpr_number="565504033", name="Emil Vik", security_level="3", orgnr_parent=demo.LOVISENBERG),
    "no-organisation": Actor(hpr_number="565504033", name="Uten org", security_level="4"),
    "astrid-admin": Actor(
        name="Astrid Holm",
        pid="17817213715",
        security_level="4",
        orgnr_parent=demo.OSLO,
        grants=frozenset({(Role.MUNICIPALITY_ADMIN, demo.OSLO)}),
    ),
    "jonas-auditor": Actor(
        name="Jonas Strand",
        pid="28828537581",
        security_level="4",
        orgnr_parent=demo.OSLO,
        grants=frozenset({(Role.AUDITOR, demo.OSLO)}),
    ),
    "leif-service-auditor": Actor(
        name="Leif Aas", security_level="4", orgnr_parent=demo.OPERATOR, grants=frozenset({(Role.SERVICE_AUDITOR, "")})
    ),
}

# Measurements, named by source, kind and age in days; the name is stored as the dedup key.
MEASUREMENTS = {
    KARI: [
        ("oslo", "body_weight", 10),
        ("oslo", "body_weight", 100),
        ("oslo", "body_weight", 400),
        ("oslo", "blood_pressure", 10),
    ],
    PER: [("oslo", "heart_rate", 10), ("baerum", "heart_rate", 5)],
}
SOURCES = {"oslo": demo.OSLO, "baerum": demo.BAERUM}
ALL_KARI = {"oslo-body_weight-10", "oslo-body_weight-100", "oslo-body_weight-400", "oslo-blood_pressure-10"}


@dataclass
class World:
    orgs: dict[str, Organisation]
    now: dt.datetime
    today: dt.date

    def agree(self, controller: str = demo.OSLO, consumer: str = demo.LOVISENBERG, **terms: Any) -> Agreement:
        terms.setdefault("valid_from", self.today - dt.timedelta(days=30))
        terms["units"] = [self.orgs[orgnr] for orgnr in terms.get("units", ())]
        return actions.create_active_agreement(
            controller=self.orgs[controller], consumer=self.orgs[consumer], by=ADMIN, **terms
        )

    def reserve(self, patient: str = KARI, municipality: str = demo.OSLO, against: tuple[str, ...] = ()) -> Any:
        return actions.record_reservation(
            municipality=self.orgs[municipality],
            patient_value=patient,
            objected_on=self.today,
            consumers=[self.orgs[orgnr] for orgnr in against],
            note="Pasienten ønsker ikke deling",
            by=ADMIN,
        )

    def emergency_record(self, actor: Actor = INGRID, patient: str = KARI, reason: str = "Bevisstløs") -> None:
        record_event(
            event="patient.lookup",
            outcome="granted",
            by=actor,
            patient_value=patient,
            basis="emergency",
            reason=reason,
        )


@pytest.fixture
def world(db: None) -> World:
    orgs = demo.seed_organisations()
    orgs[OTHER_UNIT] = actions.register_organisation(
        orgnr=OTHER_UNIT,
        name="Lovisenberg, kirurgisk klinikk",
        kind="hospital",
        parent=orgs[demo.LOVISENBERG],
        by=demo.SEEDER,
    )
    now = timezone.now()
    for patient, rows in MEASUREMENTS.items():
        for source, kind, age in rows:
            orgnr = SOURCES[source]
            PatientSource.objects.get_or_create(patient_value=patient, source_orgnr=orgnr, patient_system="fnr")
            Measurement.objects.create(
                patient_system="urn:oid:2.16.578.1.12.4.1.4.1",
                patient_value=patient,
                kind=kind,
                code_system="http://loinc.org",
                code="0000-0",
                effective=now - dt.timedelta(days=age),
                status="final",
                value=1.0,
                source_orgnr=orgnr,
                dedup_key=f"{source}-{kind}-{age}",
            )
    return World(orgs=orgs, now=now, today=timezone.localdate(now))


def visible(decision: Decision, patient: str) -> set[str]:
    rows = Measurement.objects.granted(decision)
    return set(rows.values_list("dedup_key", flat=True))


def everything(w: World) -> None:
    w.agree()


def with_emergency(w: World) -> None:
    w.agree(bases=[Basis.CARE, Basis.EMERGENCY])


def suspended(w: World) -> None:
    actions.suspend_agreement(agreement=w.agree(), note="Avklaring", by=ADMIN)


def resumed(w: World) -> None:
    agreement = actions.suspend_agreement(agreement=w.agree(), note="Avklaring", by=ADMIN)
    actions.resume_agreement(agreement=agreement, note="Avklart", by=ADMIN)


def terminated_today(w: World) -> None:
    actions.terminate_agreement(agreement=w.agree(), note="Avtalen sagt opp", by=ADMIN)


def draft_only(w: World) -> None:
    actions.create_draft(
        controller=w.orgs[demo.OSLO],
        terms=actions.Terms(consumer=w.orgs[demo.LOVISENBERG], valid_from=w.today - dt.timedelta(days=5)),
        by=ADMIN,
    )


def amended_to_blood_pressure(w: World) -> None:
    agreement = w.agree()
    terms = actions.Terms(consumer=agreement.consumer, valid_from=agreement.valid_from, kinds=("blood_pressure",))
    actions.amend_agreement(agreement=agreement, terms=terms, note="Kun blodtrykk", by=ADMIN)


def lifted_reservation(w: World) -> None:
    w.agree()
    actions.lift_reservation(reservation=w.reserve(), note="Trukket", by=ADMIN)


def emergency_window_then_terminated(w: World) -> None:
    agreement = w.agree(bases=[Basis.CARE, Basis.EMERGENCY])
    w.emergency_record()
    actions.terminate_agreement(agreement=agreement, note="Sagt opp", by=ADMIN)


@dataclass(frozen=True)
class Case:
    name: str
    setup: Callable[[World], Any]
    expect: Denial | None  # None: granted
    actor: str = "ingrid"
    patient: str = KARI
    basis: Basis = Basis.CARE
    reason: str = "Innlagt"
    sees: frozenset[str] | None = None  # what a granted scope lets through
    emergency: bool = False
    hours_later: int = 0  # decide this long after the setup ran


CASES = [
    # Agreements: existence, parties, status, validity period.
    Case("no agreement at all", lambda w: None, Denial.NO_AGREEMENT),
    Case("no agreement for this consumer", everything, Denial.NO_AGREEMENT, actor="per-fjordvik"),
    Case("agreement gives everything", everything, None, sees=frozenset(ALL_KARI)),
    Case("agreement of another municipality", lambda w: w.agree(controller=demo.BAERUM), Denial.NO_AGREEMENT),
    Case(
        "two municipalities, agreement with one",
        lambda w: w.agree(controller=demo.BAERUM),
        None,
        patient=PER,
        sees=frozenset({"baerum-heart_rate-5"}),
    ),
    Case(
        "two municipalities, agreements with both",
        lambda w: (w.agree(), w.agree(controller=demo.BAERUM)),
        None,
        patient=PER,
        sees=frozenset({"oslo-heart_rate-10", "baerum-heart_rate-5"}),
    ),
    Case("unknown patient looks like no agreement", everything, Denial.NO_AGREEMENT, patient=NOBODY),
    Case(
        "expired yesterday",
        lambda w: w.agree(valid_from=w.today - dt.timedelta(days=90), valid_to=w.today - dt.timedelta(days=1)),
        Denial.NO_AGREEMENT,
    ),
    Case("ends today: still in force", lambda w: w.agree(valid_to=w.today), None, sees=frozenset(ALL_KARI)),
    Case("suspended", suspended, Denial.NO_AGREEMENT),
    Case("suspended and resumed", resumed, None, sees=frozenset(ALL_KARI)),
    Case("terminated today", terminated_today, Denial.NO_AGREEMENT),
    Case("draft, never activated", draft_only, Denial.NO_AGREEMENT),
    Case("future start", lambda w: w.agree(valid_from=w.today + dt.timedelta(days=1)), Denial.NO_AGREEMENT),
    Case("starts today", lambda w: w.agree(valid_from=w.today), None, sees=frozenset(ALL_KARI)),
    # Units of the consumer.
    Case(
        "unit covered",
        lambda w: w.agree(units=[demo.LOVISENBERG_MEDICAL]),
        None,
        sees=frozenset(ALL_KARI),
    ),
    Case(
        "unit not covered",
        lambda w: w.agree(units=[demo.LOVISENBERG_MEDICAL]),
        Denial.UNIT_NOT_COVERED,
        actor="ingrid-other-unit",
    ),
    Case(
        "agreement limited to units, login for the whole organisation",
        lambda w: w.agree(units=[demo.LOVISENBERG_MEDICAL]),
        Denial.UNIT_NOT_COVERED,
        actor="ingrid-whole-org",
    ),
    Case("no unit limit covers every unit", everything, None, actor="ingrid-other-unit", sees=frozenset(ALL_KARI)),
    # Scope: kinds and look-back window.
    Case(
        "kind not in scope is filtered out",
        lambda w: w.agree(kinds=["blood_pressure"]),
        None,
        sees=frozenset({"oslo-blood_pressure-10"}),
    ),
    Case("no kind in scope: granted, nothing visible", lambda w: w.agree(kinds=["glucose"]), None, sees=frozenset()),
    Case("amended scope applies", amended_to_blood_pressure, None, sees=frozenset({"oslo-blood_pressure-10"})),
    Case(
        "look-back 90 days",
        lambda w: w.agree(lookback_days=90),
        None,
        sees=frozenset({"oslo-body_weight-10", "oslo-blood_pressure-10"}),
    ),
    Case(
        "look-back one year",
        lambda w: w.agree(lookback_days=365),
        None,
        sees=frozenset({"oslo-body_weight-10", "oslo-body_weight-100", "oslo-blood_pressure-10"}),
    ),
    # From the agreement's start (the form's default): nothing measured before valid_from.
    Case(
        "look-back from the agreement's start, 30 days ago",
        lambda w: w.agree(lookback_from_start=True),
        None,
        sees=frozenset({"oslo-body_weight-10", "oslo-blood_pressure-10"}),
    ),
    Case(
        "look-back from the start of an agreement begun 200 days ago",
        lambda w: w.agree(lookback_from_start=True, valid_from=w.today - dt.timedelta(days=200)),
        None,
        sees=frozenset({"oslo-body_weight-10", "oslo-body_weight-100", "oslo-blood_pressure-10"}),
    ),
    Case(
        "from the start and 60 days: the later start wins",
        lambda w: w.agree(lookback_from_start=True, lookback_days=60, valid_from=w.today - dt.timedelta(days=200)),
        None,
        sees=frozenset({"oslo-body_weight-10", "oslo-blood_pressure-10"}),
    ),
    Case(
        "GP with 90 days beside hospital with everything",
        lambda w: (w.agree(), w.agree(consumer=demo.SAGENE_GP, lookback_days=90)),
        None,
        actor="ola-gp",
        sees=frozenset({"oslo-body_weight-10", "oslo-blood_pressure-10"}),
    ),
    # Reservations (sperring).
    Case("reservation against all consumers", lambda w: (w.agree(), w.reserve()), Denial.RESERVED),
    Case(
        "reservation naming this consumer",
        lambda w: (w.agree(), w.reserve(against=(demo.LOVISENBERG,))),
        Denial.RESERVED,
    ),
    Case(
        "reservation naming another consumer",
        lambda w: (w.agree(), w.reserve(against=(demo.SAGENE_GP,))),
        None,
        sees=frozenset(ALL_KARI),
    ),
    Case(
        "reservation naming another consumer stops that one",
        lambda w: (w.agree(consumer=demo.SAGENE_GP), w.reserve(against=(demo.SAGENE_GP,))),
        Denial.RESERVED,
        actor="ola-gp",
    ),
    Case("lifted reservation", lifted_reservation, None, sees=frozenset(ALL_KARI)),
    Case(
        "reservation in one municipality leaves the other",
        lambda w: (w.agree(), w.agree(controller=demo.BAERUM), w.reserve(patient=PER)),
        None,
        patient=PER,
        sees=frozenset({"baerum-heart_rate-5"}),
    ),
    Case(
        "reservation overridden in an emergency the agreement allows",
        lambda w: (with_emergency(w), w.reserve()),
        None,
        basis=Basis.EMERGENCY,
        reason="Bevisstløs i akutten",
        sees=frozenset(ALL_KARI),
        emergency=True,
    ),
    Case(
        "reservation and emergency not allowed",
        lambda w: (w.agree(), w.reserve()),
        Denial.BASIS_NOT_ALLOWED,
        basis=Basis.EMERGENCY,
        reason="Bevisstløs i akutten",
    ),
    # Bases: consent and emergency.
    Case(
        "consent allowed by default", everything, None, basis=Basis.CONSENT, reason="Samtykke", sees=frozenset(ALL_KARI)
    ),
    Case(
        "consent not allowed",
        lambda w: w.agree(bases=[Basis.CARE]),
        Denial.BASIS_NOT_ALLOWED,
        basis=Basis.CONSENT,
        reason="Samtykke",
    ),
    Case("consent without a reason", everything, Denial.REASON_REQUIRED, basis=Basis.CONSENT, reason=" "),
    Case(
        "emergency allowed",
        with_emergency,
        None,
        basis=Basis.EMERGENCY,
        reason="Bevisstløs i akutten",
        sees=frozenset(ALL_KARI),
        emergency=True,
    ),
    Case("emergency not allowed", everything, Denial.BASIS_NOT_ALLOWED, basis=Basis.EMERGENCY, reason="Akutt"),
    Case("emergency without a reason", with_emergency, Denial.REASON_REQUIRED, basis=Basis.EMERGENCY, reason=""),
    Case(
        "emergency window: a later view needs no new reason",
        lambda w: (with_emergency(w), w.emergency_record()),
        None,
        basis=Basis.EMERGENCY,
        reason="",
        hours_later=3,
        sees=frozenset(ALL_KARI),
        emergency=True,
    ),
    Case(
        "emergency window closed after four hours",
        lambda w: (with_emergency(w), w.emergency_record()),
        Denial.REASON_REQUIRED,
        basis=Basis.EMERGENCY,
        reason="",
        hours_later=5,
    ),
    Case(
        "emergency window is personal",
        lambda w: (with_emergency(w), w.emergency_record()),
        Denial.REASON_REQUIRED,
        actor="colleague",
        basis=Basis.EMERGENCY,
        reason="",
    ),
    Case(
        "emergency window is for one patient",
        lambda w: (with_emergency(w), w.emergency_record(patient=PER)),
        Denial.REASON_REQUIRED,
        basis=Basis.EMERGENCY,
        reason="",
    ),
    Case(
        "emergency window ends with the agreement",
        emergency_window_then_terminated,
        Denial.NO_AGREEMENT,
        basis=Basis.EMERGENCY,
        reason="",
    ),
    # The person.
    Case("nurse without HPR number", everything, Denial.NO_HPR, actor="nina-no-hpr"),
    Case("security level 3", everything, Denial.SECURITY_LEVEL, actor="emil-level-3"),
    Case("no organisation in the login", everything, Denial.NO_ORGANISATION, actor="no-organisation"),
    Case("municipality admin looks up a patient", everything, Denial.NOT_CLINICIAN, actor="astrid-admin"),
    # HPR authorisation (hpr_details) and the professions an agreement covers.
    Case("valid authorisation", everything, None, actor="ingrid-authorised", sees=frozenset(ALL_KARI)),
    Case("revoked authorisation", everything, Denial.NO_AUTHORISATION, actor="ingrid-revoked"),
    Case("expired authorisation", everything, Denial.NO_AUTHORISATION, actor="ingrid-expired"),
    Case("authorisation not yet valid", everything, Denial.NO_AUTHORISATION, actor="ingrid-not-yet"),
    Case("HPR number without any authorisation", everything, Denial.NO_AUTHORISATION, actor="ingrid-no-approvals"),
    Case(
        "profession covered",
        lambda w: w.agree(professions=["LE", "SP"]),
        None,
        actor="ingrid-authorised",
        sees=frozenset(ALL_KARI),
    ),
    Case(
        "profession not covered",
        lambda w: w.agree(professions=["LE", "SP"]),
        Denial.PROFESSION_NOT_COVERED,
        actor="physio",
    ),
    Case(
        "one of two professions covered",
        lambda w: w.agree(professions=["SP"]),
        None,
        actor="nurse-and-physio",
        sees=frozenset(ALL_KARI),
    ),
    Case("no profession limit covers every profession", everything, None, actor="physio", sees=frozenset(ALL_KARI)),
    Case("municipality auditor looks up a patient", everything, Denial.NOT_CLINICIAN, actor="jonas-auditor"),
    Case("service auditor looks up a patient", everything, Denial.NOT_CLINICIAN, actor="leif-service-auditor"),
]


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_decision(world: World, case: Case) -> None:
    case.setup(world)
    at = timezone.now() + dt.timedelta(hours=case.hours_later)
    decision = decide(actor=ACTORS[case.actor], patient_value=case.patient, basis=case.basis, reason=case.reason, at=at)
    assert decision.denial == case.expect
    assert decision.granted is (case.expect is None)
    assert decision.emergency is case.emergency
    if decision.granted:
        assert visible(decision, case.patient) == case.sees
    else:
        assert decision.scopes == ()
        assert visible(decision, case.patient) == set()


def test_reserved_and_no_agreement_read_the_same(world: World) -> None:
    """A reservation must not tell the clinician that the patient exists."""
    world.agree()
    world.reserve()
    reserved = decide(actor=INGRID, patient_value=KARI, basis=Basis.CARE, reason="x")
    unknown = decide(actor=INGRID, patient_value=NOBODY, basis=Basis.CARE, reason="x")
    assert (reserved.denial, unknown.denial) == (Denial.RESERVED, Denial.NO_AGREEMENT)
    assert reserved.message == unknown.message == str(DENIAL_MESSAGES[Denial.NO_AGREEMENT])


def test_emergency_grant_says_when_it_ends(world: World, settings: Any) -> None:
    settings.EMERGENCY_ACCESS_HOURS = 2
    with_emergency(world)
    at = timezone.now()
    fresh = decide(actor=INGRID, patient_value=KARI, basis=Basis.EMERGENCY, reason="Akutt", at=at)
    assert fresh.expires_at == at + dt.timedelta(hours=2)
    world.emergency_record()
    later = decide(actor=INGRID, patient_value=KARI, basis=Basis.EMERGENCY, reason="", at=at + dt.timedelta(hours=1))
    assert later.emergency
    assert later.expires_at is not None
    assert at + dt.timedelta(hours=1) < later.expires_at <= at + dt.timedelta(hours=2, seconds=5)


def test_a_care_lookup_is_not_an_emergency(world: World) -> None:
    with_emergency(world)
    decision = decide(actor=INGRID, patient_value=KARI, basis=Basis.CARE, reason="Innlagt")
    assert decision.granted
    assert (decision.emergency, decision.expires_at) == (False, None)


def test_decision_takes_a_fixed_number_of_queries(world: World, django_assert_num_queries: Any) -> None:
    world.agree(units=[demo.LOVISENBERG_MEDICAL])
    world.agree(controller=demo.BAERUM)
    # the agreements with their units, each with whether the patient has data and a reservation there
    with django_assert_num_queries(1):
        decision = decide(actor=INGRID, patient_value=PER, basis=Basis.CARE, reason="x")
    assert decision.municipalities == sorted([demo.OSLO, demo.BAERUM])
    # What the page header shows comes with the decision, ordered by the municipality's name.
    names = [a.municipality_name for a in decision.agreements]
    assert names == sorted(names) and len(names) == 2
