"""Tokens that carry a person: HelseID access tokens for a clinician using a hospital or GP system.

Reads need a person, not just a system: the token names the user (pid, HPR number, security
level) and the client's organisation, and it must be DPoP-bound (RFC 9449), as PMD requires
(FHIR_UNBOUND_READ_CLIENTS names the clients, none by default, that may read with an unbound token).
The access basis and reason travel in headers (documented in docs/fhir-api.md):
`X-Access-Basis: care|consent|emergency` (default care) and `X-Access-Reason: <text>`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from sharing.core.actor import Actor, Role, approvals_from
from sharing.core.basis import Basis
from sharing.core.helseid import (
    CLAIM_HPR_DETAILS,
    CLAIM_HPR_NUMBER,
    CLAIM_PID,
    CLAIM_SECURITY_LEVEL,
    REQUIRED_SECURITY_LEVEL,
    hpr_details,
)

from .auth import (
    CLAIM_CLIENT_NAME,
    CLAIM_ORGNR_CHILD,
    CLAIM_ORGNR_PARENT,
    HasScope,
    authenticate_token,
    bound_key,
    scopes_of,
)
from .errors import coded

MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class ApiUser:
    """A person acting through a hospital or GP system."""

    actor: Actor
    scopes: frozenset[str]
    basis: Basis
    reason: str

    @property
    def is_authenticated(self) -> bool:
        return True


def _actor_from_claims(claims: dict[str, Any], request_id: str) -> Actor:
    hpr = str(claims.get(CLAIM_HPR_NUMBER, "") or "")
    level = str(claims.get(CLAIM_SECURITY_LEVEL, "") or "")
    parent = str(claims.get(CLAIM_ORGNR_PARENT, "") or "")
    is_clinician = bool(hpr and level == REQUIRED_SECURITY_LEVEL and parent)
    return Actor(
        sub=str(claims.get("sub", "")),
        pid=str(claims.get(CLAIM_PID, "")),
        hpr_number=hpr,
        name=str(claims.get("name", "")),
        security_level=level,
        orgnr_parent=parent,
        orgnr_child=str(claims.get(CLAIM_ORGNR_CHILD, "") or ""),
        roles=frozenset({Role.CLINICIAN}) if is_clinician else frozenset(),
        client_id=str(claims.get("client_id", "")) or str(claims.get(CLAIM_CLIENT_NAME, "")),
        request_id=request_id,
        # As in the portal: the authorisations HelseID's hpr_details names (the API's registration
        # lists the claim, so HelseID puts it in the token); none known when it is absent.
        approvals=approvals_from(hpr_details(claims.get(CLAIM_HPR_DETAILS))) if hpr else (),
    )


def _basis_and_reason(request: Request) -> tuple[Basis, str]:
    raw = request.META.get("HTTP_X_ACCESS_BASIS", Basis.CARE.value).strip().lower()
    try:
        basis = Basis(raw)
    except ValueError as exc:
        allowed = ", ".join(b.value for b in Basis)
        raise coded(
            exceptions.ParseError,
            "basis-invalid",
            _("X-Access-Basis must be one of %(allowed)s, not %(given)r."),
            allowed=allowed,
            given=raw,
        ) from exc
    reason = request.META.get("HTTP_X_ACCESS_REASON", "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise coded(
            exceptions.ParseError,
            "reason-too-long",
            _("X-Access-Reason is longer than %(max)s characters."),
            max=MAX_REASON_LENGTH,
        )
    return basis, reason


class UserTokenAuthentication(BaseAuthentication):
    """A person's token: DPoP-bound with a proof, or (a client on FHIR_UNBOUND_READ_CLIENTS) unbound."""

    def authenticate(self, request: Request) -> tuple[ApiUser, dict[str, Any]] | None:
        # A read's proof is recorded as used with its audit record (ReadView.finalize_response
        # records it otherwise); any other method's, here, before anything is done.
        presented = authenticate_token(request, defer_claim=request.method in ("GET", "HEAD"))
        if presented is None:
            return None
        _scheme, claims, claim = presented
        if not bound_key(claims) and str(claims.get("client_id", "")) not in settings.FHIR_UNBOUND_READ_CLIENTS:
            raise coded(
                exceptions.AuthenticationFailed, "token-not-bound", _("The access token must be DPoP-bound (cnf.jkt).")
            )
        if not claims.get(CLAIM_PID):
            raise coded(
                exceptions.AuthenticationFailed,
                "token-no-person",
                _("Reading patient data needs a token issued to a person (pid)."),
            )
        basis, reason = _basis_and_reason(request)
        request_id = request.META.get("HTTP_X_REQUEST_ID", "")[:64]
        actor = replace(_actor_from_claims(claims, request_id), claim=claim)
        return ApiUser(actor, scopes_of(claims), basis, reason), claims

    def authenticate_header(self, request: Request) -> str:
        return 'DPoP realm="maaledata", algs="RS256 PS256 ES256"'


class CanReadObservations(HasScope):
    setting = "FHIR_SCOPE_OBSERVATION_READ"
    kind = ApiUser
