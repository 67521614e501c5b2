"""Patients opened in this login session, kept server-side under opaque keys.

The national identity number never appears in a URL: a granted lookup is stored in the
session under a random key, and the patient page is `/pasient/<key>/`. A key belongs to
one session, so anyone else (another clinician, a copied link) gets 404. Holding a key
grants nothing by itself: every page view decides again and is logged again.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass

from django.http import Http404, HttpRequest
from django.utils import timezone

from sharing.access.decision import Basis
from sharing.core.basis import ReasonCode
from sharing.identifiers import NationalId, parse_national_id

SESSION_KEY = "clinician.opened"
KEEP = 20  # the newest lookups of a session; older keys stop working


@dataclass(frozen=True)
class Opened:
    key: str
    patient: str  # the national identity number, 11 digits
    basis: str
    reason: str
    name: str
    opened_at: str  # ISO 8601
    kinds: tuple[str, ...] = ()  # the kinds found at lookup, for the kind tabs
    launch: dict[str, str] | None = None  # the EHR launch the lookup came from (portal.launch)
    reason_code: str = ""  # the quick pick chosen with the reason, if any (sharing.core.basis.ReasonCode)

    @property
    def national_id(self) -> NationalId:
        return parse_national_id(self.patient)

    @property
    def access_basis(self) -> Basis:
        return Basis(self.basis)

    @property
    def access_reason_code(self) -> ReasonCode | None:
        """The quick pick of the lookup, which opening it again keeps (None without one)."""
        try:
            return ReasonCode(self.reason_code) if self.reason_code else None
        except ValueError:  # a code no longer offered
            return None

    @property
    def view_reason(self) -> str:
        """The reason each later view states. On the emergency basis none: the time-boxed window
        the lookup opened applies, and a fresh reason would open (extend) the window again."""
        return "" if self.access_basis == Basis.EMERGENCY else self.reason

    @property
    def audit_context(self) -> dict[str, object] | None:
        """What every record of this episode keeps beside its own data: the EHR launch the lookup
        came from, so each view and export of a launched patient shows where it started."""
        return {"launch": self.launch} if self.launch else None

    @property
    def opened(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.opened_at)


def _all(request: HttpRequest) -> list[Opened]:
    return [
        Opened(**{**entry, "kinds": tuple(entry.get("kinds", ()))}) for entry in request.session.get(SESSION_KEY, [])
    ]


def remember(
    request: HttpRequest,
    *,
    patient: NationalId,
    basis: Basis,
    reason: str,
    name: str,
    kinds: tuple[str, ...],
    launch: dict[str, str] | None = None,
    reason_code: ReasonCode | None = None,
) -> Opened:
    """Store a granted lookup under a fresh key (each lookup gets its own)."""
    opened = Opened(
        key=secrets.token_urlsafe(12),
        patient=patient.value,
        basis=str(basis),
        reason=reason,
        name=name,
        opened_at=timezone.now().isoformat(),
        kinds=kinds,
        launch=launch,
        reason_code=reason_code.value if reason_code else "",
    )
    kept = [asdict(o) for o in _all(request)][-(KEEP - 1) :]
    request.session[SESSION_KEY] = [*kept, asdict(opened)]
    return opened


def find(request: HttpRequest, key: str) -> Opened:
    """The lookup behind `key` in this session; 404 for unknown and someone else's keys alike."""
    for opened in _all(request):
        if secrets.compare_digest(opened.key, key):
            return opened
    raise Http404


def recent(request: HttpRequest) -> list[Opened]:
    """One entry per patient, newest first."""
    seen: set[str] = set()
    newest = []
    for opened in reversed(_all(request)):
        if opened.patient not in seen:
            seen.add(opened.patient)
            newest.append(opened)
    return newest
