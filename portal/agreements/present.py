"""Display helpers: what an agreement or a revision looks like on the page. No rules live here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sharing.access.names import names_sent_by
from sharing.agreements.models import Agreement, AgreementRevision, Reservation
from sharing.core.basis import BASIS_SHORT_LABELS, Basis
from sharing.core.kinds import KIND_LABELS

State = Agreement.State

STATE_STYLE = {
    State.DRAFT: "draft",
    State.PENDING: "pending",
    State.IN_FORCE: "ok",
    State.SUSPENDED: "warn",
    State.TERMINATED: "off",
    State.EXPIRED: "off",
}

FIELD_LABELS = {
    "consumer": _("Consumer"),
    "units": _("Units"),
    "status": _("Status"),
    "purpose": _("Purpose"),
    "legal_basis": _("Legal basis"),
    "valid_from": _("Valid from"),
    "valid_to": _("Valid to"),
    "kinds": _("Measurement kinds"),
    "lookback_days": _("Look-back window"),
    "lookback_from_start": _("From the agreement's start"),
    "bases": _("Access bases"),
    "document_reference": _("Signed document"),
    "signed_by": _("Signed by"),
    "signed_on": _("Signed on"),
    "status_note": _("Reason"),
    "terminated_on": _("Terminated on"),
}


def kinds_label(kinds: list[str]) -> str:
    if not kinds:
        return str(_("Every kind"))
    return ", ".join(KIND_LABELS.get(k, k) for k in kinds)  # type: ignore[call-overload]


def lookback_label(days: int | None, from_start: bool = False) -> str:
    if from_start:
        return str(_("From the agreement's start"))
    if not days:
        return str(_("Everything the municipality holds"))
    if days == 365:
        return str(_("The last year"))
    return ngettext("The last %(days)d day", "The last %(days)d days", days) % {"days": days}


def bases_label(bases: list[str]) -> str:
    return ", ".join(str(BASIS_SHORT_LABELS.get(b, b)) for b in bases)  # type: ignore[call-overload]


@dataclass(frozen=True)
class AgreementView:
    agreement: Agreement
    state: Agreement.State
    expiring: bool
    days_left: int | None

    @property
    def state_label(self) -> str:
        return str(self.state.label)

    @property
    def style(self) -> str:
        return STATE_STYLE[self.state]

    @property
    def kinds(self) -> str:
        return kinds_label(self.agreement.kinds)

    @property
    def lookback(self) -> str:
        return lookback_label(self.agreement.lookback_days, self.agreement.lookback_from_start)

    @property
    def bases(self) -> str:
        return bases_label(self.agreement.bases)

    @property
    def emergency_allowed(self) -> bool:
        return Basis.EMERGENCY in self.agreement.bases


def present(agreement: Agreement, today: dt.date) -> AgreementView:
    state = agreement.state_on(today)
    days_left = (agreement.valid_to - today).days if agreement.valid_to else None
    expiring = state == State.IN_FORCE and days_left is not None and days_left <= settings.AGREEMENT_EXPIRY_WARNING_DAYS
    return AgreementView(agreement=agreement, state=state, expiring=expiring, days_left=days_left)


@dataclass(frozen=True)
class RevisionView:
    revision: AgreementRevision
    changed: list[str]


def history(revisions: list[AgreementRevision]) -> list[RevisionView]:
    """Each revision with the fields it changed against the one before, newest first."""
    rows: list[RevisionView] = []
    previous: dict[str, Any] = {}
    for revision in revisions:
        changed = [
            str(label)
            for name, label in FIELD_LABELS.items()
            if previous and previous.get(name) != revision.snapshot.get(name)
        ]
        rows.append(RevisionView(revision=revision, changed=changed))
        previous = revision.snapshot
    return rows[::-1]


# --- Reservations ------------------------------------------------------------------------------


def masked(national_id: str) -> str:
    """The first six digits (the birth date, for a fødselsnummer) and the rest hidden: `300875 *****`."""
    return f"{national_id[:6]} *****"


@dataclass(frozen=True)
class ReservationRow:
    """A reservation as the list shows it: minimised (docs/audit.md, "Identifiers in lists").

    The list is the whole register, read at every visit, so it shows no full number: the birth
    date part and the name the municipality's own system sent, enough to tell rows apart. The
    full number appears only where the admin typed it (the form that records a reservation).
    """

    reservation: Reservation
    patient: str
    name: str


def reservation_rows(reservations: list[Reservation], municipality_orgnr: str) -> list[ReservationRow]:
    names = names_sent_by(municipality=municipality_orgnr, patients=(r.patient_value for r in reservations))
    return [ReservationRow(r, masked(r.patient_value), names.get(r.patient_value, "")) for r in reservations]
