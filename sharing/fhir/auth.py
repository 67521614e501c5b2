"""Access tokens from HelseID (devidp locally), checked as HelseID's guidance for APIs says.

Every API call presents a JWT access token (RFC 9068) in the Authorization header:
- its signature verifies against the issuer's JWKS, its `typ` is `at+jwt` (or `JWT`, which
  HelseID's rules for APIs also allow), `iss` is the issuer,
  and `aud` is exactly our API (`FHIR_API_AUDIENCE`), nothing more;
- `exp`, `nbf` and `iat` hold, with a few seconds of leeway (`FHIR_TOKEN_LEEWAY_SECONDS`);
- a DPoP-bound token (`cnf.jkt`) comes as `Authorization: DPoP <token>` with a fresh proof signed
  by the bound key (RFC 9449); sent as `Bearer` it is refused, since that would drop the binding.
  An unbound token comes as `Bearer`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from sharing import oidc
from sharing.core.actor import Actor, Role
from sharing.core.claims import OneTimeClaim
from sharing.core.helseid import CLAIM_CLIENT_NAME, CLAIM_ORGNR_CHILD, CLAIM_ORGNR_PARENT

from . import dpop
from .errors import coded

logger = logging.getLogger(__name__)

# HelseID's rule for APIs ("Validating Access Tokens", NHN's security profile): typ is `at+jwt`
# (RFC 9068; the media-type form is equivalent) or `JWT`, and any other value is refused: an ID
# token, a DPoP proof, a logout token or a token without typ.
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt"})
SIGNING_ALGORITHMS = ["RS256", "PS256", "ES256"]


class DpopAuthenticationFailed(exceptions.AuthenticationFailed):
    default_code = "invalid_dpop_proof"


@dataclass(frozen=True)
class ApiClient:
    """The calling system, as its token describes it."""

    client_id: str
    name: str
    orgnr_parent: str
    orgnr_child: str
    scopes: frozenset[str]

    @property
    def is_authenticated(self) -> bool:
        return True

    def actor(self, request_id: str = "") -> Actor:
        return Actor(
            name=self.name,
            orgnr_parent=self.orgnr_parent,
            orgnr_child=self.orgnr_child,
            roles=frozenset({Role.SYSTEM_CLIENT}),
            client_id=self.client_id,
            request_id=request_id,
        )


def verify_access_token(token: str) -> dict[str, Any]:
    """typ, signature, issuer, our API as the only audience, exp/nbf/iat; raises jwt.PyJWTError.

    A token verified before in this process, for the same issuer and audience, skips the signature
    and the JSON work (`oidc.verified_claims`); exp and nbf are checked again at every use, with
    the same leeway.
    """
    key = (token, settings.OIDC_ISSUER, settings.FHIR_API_AUDIENCE)
    known = oidc.verified_claims(key)
    if known is None:
        claims = _verify(token)
        oidc.remember_verified(key, claims)
        return claims
    leeway = settings.FHIR_TOKEN_LEEWAY_SECONDS
    now = time.time()
    if known["exp"] <= now - leeway:
        raise jwt.ExpiredSignatureError("Signature has expired")
    if known.get("nbf", 0) > now + leeway:
        raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    return known


def _verify(token: str) -> dict[str, Any]:
    typ = str(jwt.get_unverified_header(token).get("typ", "")).lower()
    if typ not in ACCESS_TOKEN_TYPES:
        raise jwt.InvalidTokenError(f"typ must be at+jwt (RFC 9068) or JWT, not {typ or 'missing'!r}")
    signing_key = oidc.jwks_client().get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        signing_key.key,
        algorithms=SIGNING_ALGORITHMS,
        audience=settings.FHIR_API_AUDIENCE,
        issuer=oidc.discovery()["issuer"],
        options={"require": ["exp", "iat", "iss", "aud"]},
        leeway=settings.FHIR_TOKEN_LEEWAY_SECONDS,
    )
    audience = claims["aud"]
    if audience != settings.FHIR_API_AUDIENCE and audience != [settings.FHIR_API_AUDIENCE]:
        raise jwt.InvalidAudienceError(f"the token must name {settings.FHIR_API_AUDIENCE} as its only audience")
    return claims


def scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    scope = claims.get("scope", "")
    return frozenset(scope.split() if isinstance(scope, str) else scope)


def bound_key(claims: dict[str, Any]) -> str:
    """The DPoP key thumbprint the token is bound to (`cnf.jkt`), or ""."""
    cnf = claims.get("cnf")
    return str(cnf.get("jkt", "") or "") if isinstance(cnf, dict) else ""


def authenticate_token(
    request: Request, *, defer_claim: bool = False
) -> tuple[str, dict[str, Any], OneTimeClaim | None] | None:
    """The scheme ("dpop" or "bearer"), checked claims of the presented token and its DPoP proof's
    jti as a claim (None for a Bearer token), or None without a token.

    Raises AuthenticationFailed for a bad token, a bound token without its proof or as Bearer,
    and an unbound token sent under the DPoP scheme. The proof's jti is recorded as used here,
    unless `defer_claim` (a read: the caller records it with the audit record, or on its own
    before answering; sharing/core/claims.py).
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _sep, token = header.partition(" ")
    scheme, token = scheme.lower(), token.strip()
    if scheme not in {"dpop", "bearer"} or not token:
        raise coded(
            exceptions.AuthenticationFailed,
            "authorization-scheme",
            _(
                "Use 'Authorization: DPoP <access token>' with a DPoP proof, "
                "or 'Bearer <access token>' for an unbound token."
            ),
        )
    try:
        claims = verify_access_token(token)
    except (jwt.PyJWTError, KeyError) as exc:
        logger.info("Rejected access token: %s", exc)
        raise coded(
            exceptions.AuthenticationFailed,
            "token-invalid",
            _("The access token is not valid (%(reason)s)."),
            reason=str(exc),
        ) from exc
    jkt = bound_key(claims)
    if jkt and scheme != "dpop":
        raise coded(
            exceptions.AuthenticationFailed,
            "token-bound-as-bearer",
            _("A DPoP-bound token must be sent as 'Authorization: DPoP <token>'."),
        )
    if not jkt and scheme == "dpop":
        raise coded(
            exceptions.AuthenticationFailed,
            "token-unbound-as-dpop",
            _("The access token is not DPoP-bound (no cnf.jkt): send it as Bearer."),
        )
    claim = _check_proof(request, token, jkt, record=not defer_claim) if jkt else None
    return scheme, claims, claim


def _check_proof(request: Request, token: str, jkt: str, *, record: bool) -> OneTimeClaim:
    proof = request.META.get("HTTP_DPOP", "")
    if not proof:
        raise coded(DpopAuthenticationFailed, "dpop-proof-missing", _("The DPoP header with a proof is missing."))
    try:
        return dpop.verify_proof(
            proof=proof,
            method=request.method or "GET",
            url=request.build_absolute_uri(),
            access_token=token,
            expected_jkt=jkt,
            record=record,
        )
    except dpop.InvalidProof as exc:
        raise invalid_proof(str(exc)) from exc


def invalid_proof(reason: str) -> exceptions.APIException:
    """The 401 for a proof refused, here or when its jti turned out used (`replayed`)."""
    logger.info("Rejected DPoP proof: %s", reason)
    return coded(
        DpopAuthenticationFailed,
        "dpop-proof-invalid",
        _("The DPoP proof is not valid (%(reason)s)."),
        reason=reason,
    )


def replayed() -> exceptions.APIException:
    return invalid_proof(dpop.REPLAYED)


class SystemTokenAuthentication(BaseAuthentication):
    """A system's token (ingest, AuditEvent): Bearer when unbound, DPoP with a proof when bound."""

    def authenticate(self, request: Request) -> tuple[ApiClient, dict[str, Any]] | None:
        presented = authenticate_token(request)
        if presented is None:
            return None
        _scheme, claims, _claim = presented  # recorded as used already
        client = ApiClient(
            client_id=str(claims.get("client_id", "")),
            name=str(claims.get(CLAIM_CLIENT_NAME, "")),
            orgnr_parent=str(claims.get(CLAIM_ORGNR_PARENT, "")),
            orgnr_child=str(claims.get(CLAIM_ORGNR_CHILD, "")),
            scopes=scopes_of(claims),
        )
        return client, claims

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="maaledata"'


class HasScope(BasePermission):
    """The token carries the scope named by `setting` (one of the FHIR_SCOPE_* settings)."""

    setting = ""
    kind: type = ApiClient

    @property
    def message(self) -> str:
        return f"The access token lacks the scope {getattr(settings, self.setting)}."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, self.kind) and getattr(settings, self.setting) in getattr(user, "scopes", ())


class CanWriteObservations(HasScope):
    setting = "FHIR_SCOPE_OBSERVATION_WRITE"
