"""The one access decision. Every patient-data read, in a page or the API, asks here first.

The checks run in a fixed order, and the order is what keeps the denial messages honest
without leaking anything about the patient:

1. the person: a clinician (HPR number, security level 4, an organisation);
2. the request: a written reason where the basis needs one;
3. the organisation, patient-independent: an agreement in force for it, covering the unit it
   acts for and allowing the basis. A denial here says which, since it tells nothing about
   any patient;
4. the patient: a municipality holding data on them under one of those agreements, and no
   reservation (sperring) against this consumer. A denial here is one message whatever the
   cause, so the clinician never learns whether the patient exists or has objected.

Emergency access (break-glass) needs an agreement that allows it and a written reason, and
opens a window (settings.EMERGENCY_ACCESS_HOURS) for that person and patient: within it a
request with the emergency basis and no new reason is granted without asking again. The window
is read from the access log itself (the granted emergency record with a reason), so it cannot
be opened without the record that the auditors' review queue picks up.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sharing.agreements.models import Agreement, Reservation
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor, Role
from sharing.core.basis import BASIS_LABELS, Basis
from sharing.core.helseid import REQUIRED_SECURITY_LEVEL
from sharing.core.prepared import Prepared
from sharing.measurements.models import IdentityLink, PatientSource

__all__ = [
    "BASIS_LABELS",
    "DENIAL_MESSAGES",
    "REQUIRED_SECURITY_LEVEL",
    "AgreementInForce",
    "Basis",
    "Decision",
    "Denial",
    "Scope",
    "bases_offered",
    "decide",
    "emergency_window",
]

# Roles that never look patients up, whatever else the person holds.
_NON_CLINICAL_ROLES = frozenset({Role.MUNICIPALITY_ADMIN, Role.AUDITOR, Role.SERVICE_AUDITOR, Role.SYSTEM_ADMIN})


class Denial(StrEnum):
    NOT_CLINICIAN = "not-clinician"
    NO_HPR = "no-hpr"
    SECURITY_LEVEL = "security-level"
    # No HPR authorisation that holds today (none, expired, not yet valid, or revoked).
    NO_AUTHORISATION = "no-authorisation"
    NO_ORGANISATION = "no-organisation"
    REASON_REQUIRED = "reason-required"
    UNIT_NOT_COVERED = "unit-not-covered"
    BASIS_NOT_ALLOWED = "basis-not-allowed"
    PROFESSION_NOT_COVERED = "profession-not-covered"
    # "No agreement" and "no data" share one code: the clinician must not learn which it was.
    NO_AGREEMENT = "no-agreement"
    # Logged as itself for the auditors, but shown to the clinician exactly like NO_AGREEMENT.
    RESERVED = "reserved"


_NOT_POSSIBLE = _(
    "No agreement gives your organisation access to home measurements for this patient, "
    "or sharing is not possible for this patient. No data is shown."
)

# What the clinician is told. NO_AGREEMENT and RESERVED are word for word the same, and say
# nothing about whether the patient exists.
DENIAL_MESSAGES = {
    Denial.NOT_CLINICIAN: _(
        "Your role does not include looking up patients. Only health personnel with an HPR number can."
    ),
    Denial.NO_HPR: _("Only health personnel with an HPR number can look up patients."),
    Denial.SECURITY_LEVEL: _("Looking up patients requires login at security level 4."),
    Denial.NO_ORGANISATION: _("Your login does not say which organisation you act for."),
    Denial.NO_AUTHORISATION: _(
        "The Health Personnel Register (HPR) shows no authorisation for you that is valid today. "
        "Looking up patients requires a valid authorisation."
    ),
    Denial.PROFESSION_NOT_COVERED: _("Your organisation's agreements do not cover your profession."),
    Denial.REASON_REQUIRED: _("This access basis requires a written reason."),
    Denial.UNIT_NOT_COVERED: _(
        "Your organisation's agreements do not cover the unit you are logged in for. "
        "Log in for a unit the agreement covers, or ask the municipality."
    ),
    Denial.BASIS_NOT_ALLOWED: _("None of your organisation's agreements allows this access basis."),
    Denial.NO_AGREEMENT: _NOT_POSSIBLE,
    Denial.RESERVED: _NOT_POSSIBLE,
}


@dataclass(frozen=True)
class Scope:
    """What one agreement lets the actor see from one municipality."""

    agreement_id: int
    municipality: str
    kinds: frozenset[str] | None  # None: every kind
    since: dt.datetime | None  # None: everything the municipality holds


@dataclass(frozen=True)
class AgreementInForce:
    """An agreement behind a granted decision, as the patient page's header shows it."""

    id: int
    municipality: str
    municipality_name: str
    purpose: str
    valid_from: dt.date
    valid_to: dt.date | None
    kinds: tuple[str, ...]  # () means every kind
    lookback_days: int | None
    lookback_from_start: bool = False  # nothing measured before valid_from


@dataclass(frozen=True)
class Decision:
    granted: bool
    denial: Denial | None = None
    scopes: tuple[Scope, ...] = field(default_factory=tuple)
    # Granted on the emergency basis: mark the page, and the record goes to the review queue.
    emergency: bool = False
    # When the emergency window for this person and patient closes.
    expires_at: dt.datetime | None = None
    # The agreements that granted it, by municipality name (fetched with the decision's own query).
    agreements: tuple[AgreementInForce, ...] = ()

    @property
    def message(self) -> str:
        return str(DENIAL_MESSAGES[self.denial]) if self.denial else ""

    @property
    def agreement_ids(self) -> list[int]:
        return sorted({s.agreement_id for s in self.scopes})

    @property
    def municipalities(self) -> list[str]:
        return sorted({s.municipality for s in self.scopes})

    @property
    def kinds(self) -> frozenset[str] | None:
        """Every kind some scope allows; None when a scope allows every kind."""
        if any(s.kinds is None for s in self.scopes):
            return None
        return frozenset().union(*(s.kinds for s in self.scopes if s.kinds is not None))

    # The patient (national identity number) it was made about: a read built from the decision
    # (`Measurement.objects.granted(decision)`) is about this patient and no other.
    patient: str = ""
    # Denied at step 4 (no data shared with this organisation, or a reservation): the answer to
    # the caller must look the same as for a patient with nothing to show. Every earlier denial
    # is about the person, the request or the organisation, and may be said as it is.
    about_patient: bool = False
    # The patient's other numbers holding data the decision looked at: a D-number or FHN linked to
    # the fødselsnummer asked about, or the reverse. A read built from the decision reads them all.
    linked: tuple[str, ...] = ()

    @property
    def numbers(self) -> tuple[str, ...]:
        """Every number of the patient a read built from the decision covers."""
        return (self.patient, *self.linked) if self.patient else ()


@dataclass(frozen=True)
class _Candidate:
    agreement: AgreementInForce
    bases: list[str]
    units: frozenset[str]
    # Empty: every profession.
    professions: frozenset[str] = frozenset()
    # The patient, at this agreement's municipality: holds data there; has a reservation in force
    # there against the actor's organisation.
    holds: bool = False
    reserved: bool = False
    # The patient's number is part of an identity link (D-number or FHN and fødselsnummer).
    has_links: bool = False

    @property
    def pk(self) -> int:
        return self.agreement.id

    @property
    def municipality(self) -> str:
        return self.agreement.municipality


def emergency_duration() -> dt.timedelta:
    return dt.timedelta(hours=settings.EMERGENCY_ACCESS_HOURS)


def emergency_window(*, actor: Actor, patient_value: str, at: dt.datetime) -> dt.datetime | None:
    """When this person's open emergency access to this patient ends, or None if none is open.

    Opened by the latest granted emergency record with a written reason, by the same person
    (HPR number) for the same organisation, within the configured duration before `at`.
    """
    if not actor.hpr_number:
        return None
    started = (
        AuditEvent.objects.filter(
            patient_value=patient_value,
            occurred_at__gt=at - emergency_duration(),
            occurred_at__lte=at,
            basis=Basis.EMERGENCY,
            outcome=AuditEvent.Outcome.GRANTED,
            actor_hpr=actor.hpr_number,
            org_parent=actor.orgnr_parent,
        )
        .exclude(reason="")
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    return started + emergency_duration() if started else None


def _actor_denial(actor: Actor, on: dt.date) -> Denial | None:
    if not actor.hpr_number:
        held = actor.roles | {role for role, _municipality in actor.grants}
        return Denial.NOT_CLINICIAN if held & _NON_CLINICAL_ROLES else Denial.NO_HPR
    if actor.security_level != REQUIRED_SECURITY_LEVEL:
        return Denial.SECURITY_LEVEL
    if actor.approvals is not None and not actor.professions_on(on):
        return Denial.NO_AUTHORISATION
    if not actor.orgnr_parent:
        return Denial.NO_ORGANISATION
    return None


def _candidates_query(*, shape: bool, orgnr: str, on: dt.date, patient_value: str) -> QuerySet[Any, Any]:
    """`_candidates`' one query; `shape`: whether there is a patient (the bases a form offers have none)."""
    person = IdentityLink.objects.person(patient_value)
    holds = PatientSource.objects.filter(person, source_orgnr=OuterRef("controller__orgnr"))
    links = IdentityLink.objects.filter(Q(old_value=patient_value) | Q(new_value=patient_value))
    reserved = (
        Reservation.objects.in_force()
        .filter(person)
        .filter(Q(all_consumers=True) | Q(consumers__orgnr=orgnr))
        .filter(municipality__orgnr=OuterRef("controller__orgnr"))
    )
    return (
        Agreement.objects.active(on=on)
        .filter(consumer__orgnr=orgnr)
        # No patient (the bases a form offers): nothing about one is asked.
        .annotate(
            holds=Exists(holds) if shape else Value(False),
            reserved=Exists(reserved) if shape else Value(False),
            has_links=Exists(links) if shape else Value(False),
        )
        .order_by("pk")
        .values_list(
            "pk",
            "controller__orgnr",
            "controller__name",
            "purpose",
            "valid_from",
            "valid_to",
            "kinds",
            "lookback_days",
            "lookback_from_start",
            "bases",
            "professions",
            "units__orgnr",
            "holds",
            "reserved",
            "has_links",
        )
    )


# Compiled once per shape and prepared on each connection: building this query's SQL and planning
# it cost more than running it (docs/performance.md, "Read by id").
_CANDIDATES = Prepared(_candidates_query)


def _candidates(actor: Actor, on: dt.date, patient_value: str = "") -> list[_Candidate]:
    """The agreements in force today with the actor's organisation as consumer, with their units,
    and for each whether its municipality holds data on the patient and whether the patient has a
    reservation in force there against the actor's organisation.

    One query: the units come through a LEFT JOIN, one row per unit (or one with None); the
    patient's facts are EXISTS subqueries per agreement (index probes on the patient, under every
    number linked to it; and whether any link exists, so `_linked` is asked only then). It also
    fetches what the patient page's header shows of each agreement, so showing it costs nothing.
    The patient's facts are only looked at after every check on the organisation has passed
    (`_decide`), so fetching them in the same round trip changes no answer.
    """
    rows = _CANDIDATES.rows(bool(patient_value), orgnr=actor.orgnr_parent, on=on, patient_value=patient_value)
    found: dict[int, tuple[AgreementInForce, list[str], list[str], bool, bool, bool]] = {}
    units: dict[int, set[str]] = defaultdict(set)
    for (
        pk,
        orgnr,
        name,
        purpose,
        start,
        end,
        kinds,
        lookback,
        from_start,
        bases,
        professions,
        unit,
        has,
        objected,
        linked,
    ) in rows:
        if pk not in found:
            agreement = AgreementInForce(pk, orgnr, name, purpose, start, end, tuple(kinds or ()), lookback, from_start)
            found[pk] = (agreement, bases, professions or [], has, objected, linked)
        if unit:
            units[pk].add(unit)
    return [
        _Candidate(agreement, bases, frozenset(units[pk]), frozenset(professions), has, objected, linked)
        for pk, (agreement, bases, professions, has, objected, linked) in found.items()
    ]


def _linked(patient_value: str, municipalities: set[str]) -> tuple[str, ...]:
    """The patient's other numbers holding data in `municipalities`: a D-number or FHN linked to the
    fødselsnummer asked about, or the reverse (`IdentityLink.objects.person`). Asked only when the
    candidates query found a link, so a patient without one costs no extra query.
    """
    numbers = (
        PatientSource.objects.filter(
            IdentityLink.objects.person(patient_value), source_orgnr__in=sorted(municipalities)
        )
        .values_list("patient_value", flat=True)
        .distinct()
    )
    return tuple(sorted(set(numbers) - {patient_value}))


def _scope(candidate: _Candidate, at: dt.datetime) -> Scope:
    agreement = candidate.agreement
    starts = [at - dt.timedelta(days=agreement.lookback_days)] if agreement.lookback_days else []
    if agreement.lookback_from_start:
        starts.append(timezone.make_aware(dt.datetime.combine(agreement.valid_from, dt.time())))
    return Scope(
        agreement_id=agreement.id,
        municipality=agreement.municipality,
        kinds=frozenset(agreement.kinds) if agreement.kinds else None,
        since=max(starts) if starts else None,
    )


def bases_offered(actor: Actor, on: dt.date) -> tuple[Basis, ...]:
    """The access bases the agreements in force for the actor's organisation (and unit) allow, in
    the order of `Basis`: what the search form offers. Nothing about any patient. With no such
    agreement, the ordinary basis alone: the lookup is then refused and logged as such."""
    allowed: set[str] = set()
    for candidate in _candidates(actor, on):
        if not candidate.units or actor.orgnr_child in candidate.units:
            allowed.update(candidate.bases)
    return tuple(basis for basis in Basis if basis.value in allowed) or (Basis.CARE,)


def decide(*, actor: Actor, patient_value: str, basis: Basis, reason: str, at: dt.datetime | None = None) -> Decision:
    """Whether `actor` may see `patient_value`'s measurements, and which; the decision names the patient."""
    return replace(_decide(actor, patient_value, basis, reason, at or timezone.now()), patient=patient_value)


def _decide(actor: Actor, patient_value: str, basis: Basis, reason: str, at: dt.datetime) -> Decision:
    if denial := _actor_denial(actor, timezone.localdate(at)):
        return Decision(False, denial)
    window_ends: dt.datetime | None = None
    if not reason.strip():
        if basis == Basis.EMERGENCY:
            window_ends = emergency_window(actor=actor, patient_value=patient_value, at=at)
        if basis != Basis.CARE and window_ends is None:
            return Decision(False, Denial.REASON_REQUIRED)

    # The organisation's agreements, before anything about the patient is looked at.
    candidates = _candidates(actor, timezone.localdate(at), patient_value)
    if not candidates:
        return Decision(False, Denial.NO_AGREEMENT)
    candidates = [c for c in candidates if not c.units or actor.orgnr_child in c.units]
    if not candidates:
        return Decision(False, Denial.UNIT_NOT_COVERED)
    candidates = [c for c in candidates if basis in c.bases]
    if not candidates:
        return Decision(False, Denial.BASIS_NOT_ALLOWED)
    if actor.approvals is not None:
        professions = actor.professions_on(timezone.localdate(at))
        candidates = [c for c in candidates if not c.professions or professions & c.professions]
        if not candidates:
            return Decision(False, Denial.PROFESSION_NOT_COVERED)

    # The patient: where their data is, and whether they have objected to this consumer.
    candidates = [c for c in candidates if c.holds]
    if not candidates:
        return Decision(False, Denial.NO_AGREEMENT, about_patient=True)
    linked = _linked(patient_value, {c.municipality for c in candidates}) if candidates[0].has_links else ()
    if basis != Basis.EMERGENCY:  # an emergency overrides a reservation, where the agreement allows it
        candidates = [c for c in candidates if not c.reserved]
        if not candidates:
            return Decision(False, Denial.RESERVED, about_patient=True, linked=linked)

    scopes = tuple(_scope(c, at) for c in candidates)
    agreements = tuple(sorted((c.agreement for c in candidates), key=lambda a: (a.municipality_name, a.id)))
    if basis != Basis.EMERGENCY:
        return Decision(True, None, scopes, agreements=agreements, linked=linked)
    return Decision(
        True,
        None,
        scopes,
        emergency=True,
        expires_at=window_ends or at + emergency_duration(),
        agreements=agreements,
        linked=linked,
    )
