"""The one access decision. Every patient-data read, in a page or the API, asks here first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sharing.agreements.models import Agreement
from sharing.measurements.models import PatientSource

from .actor import Actor

REQUIRED_SECURITY_LEVEL = "4"


class Basis(StrEnum):
    CARE = "care"  # ordinary care relationship (UNNTAK)
    CONSENT = "consent"  # the patient's consent (SAMTYKKE)
    EMERGENCY = "emergency"  # break-glass (AKUTT)


BASIS_LABELS = {
    Basis.CARE: _("Patient under treatment here (care relationship)"),
    Basis.CONSENT: _("The patient has consented"),
    Basis.EMERGENCY: _("Emergency"),
}


class Denial(StrEnum):
    NO_HPR = "no-hpr"
    SECURITY_LEVEL = "security-level"
    NO_ORGANISATION = "no-organisation"
    REASON_REQUIRED = "reason-required"
    # One code for "no agreement" and "no data": the clinician must not learn which it was.
    NO_AGREEMENT = "no-agreement"


# What the clinician is told. NO_AGREEMENT deliberately says nothing about whether the patient exists.
DENIAL_MESSAGES = {
    Denial.NO_HPR: _("Only health personnel with an HPR number can look up patients."),
    Denial.SECURITY_LEVEL: _("Looking up patients requires login at security level 4."),
    Denial.NO_ORGANISATION: _("Your login does not say which organisation you act for."),
    Denial.REASON_REQUIRED: _("This access basis requires a written reason."),
    Denial.NO_AGREEMENT: _(
        "No agreement gives your organisation access to home measurements for this patient. No data is shown."
    ),
}


@dataclass(frozen=True)
class Scope:
    """What one agreement lets the actor see from one municipality."""

    agreement_id: int
    municipality: str
    kinds: frozenset[str] | None  # None: every kind
    since: dt.datetime | None  # None: everything the municipality holds

    def as_q(self) -> Q:
        q = Q(source_orgnr=self.municipality)
        if self.kinds is not None:
            q &= Q(kind__in=sorted(self.kinds))
        if self.since is not None:
            q &= Q(effective__gte=self.since)
        return q


@dataclass(frozen=True)
class Decision:
    granted: bool
    denial: Denial | None = None
    scopes: tuple[Scope, ...] = field(default_factory=tuple)

    @property
    def message(self) -> str:
        return str(DENIAL_MESSAGES[self.denial]) if self.denial else ""

    @property
    def agreement_ids(self) -> list[int]:
        return sorted({s.agreement_id for s in self.scopes})

    @property
    def municipalities(self) -> list[str]:
        return sorted({s.municipality for s in self.scopes})

    def filter_q(self) -> Q:
        q = Q(pk__in=[])
        for scope in self.scopes:
            q |= scope.as_q()
        return q


def decide(*, actor: Actor, patient_value: str, basis: Basis, reason: str, at: dt.datetime | None = None) -> Decision:
    at = at or timezone.now()
    if not actor.hpr_number:
        return Decision(False, Denial.NO_HPR)
    if actor.security_level != REQUIRED_SECURITY_LEVEL:
        return Decision(False, Denial.SECURITY_LEVEL)
    if not actor.orgnr_parent:
        return Decision(False, Denial.NO_ORGANISATION)
    if basis != Basis.CARE and not reason.strip():
        return Decision(False, Denial.REASON_REQUIRED)
    sources = PatientSource.objects.filter(patient_value=patient_value).values_list("source_orgnr", flat=True)
    agreements = (
        Agreement.objects.active(on=timezone.localdate(at))
        .filter(consumer__orgnr=actor.orgnr_parent, controller__orgnr__in=sources)
        .values_list("pk", "controller__orgnr", "kinds", "lookback_days")
    )
    scopes = tuple(
        Scope(
            agreement_id=pk,
            municipality=orgnr,
            kinds=frozenset(kinds) if kinds else None,
            since=at - dt.timedelta(days=lookback) if lookback else None,
        )
        for pk, orgnr, kinds, lookback in agreements
    )
    if not scopes:
        return Decision(False, Denial.NO_AGREEMENT)
    return Decision(True, None, scopes)
