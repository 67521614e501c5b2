"""Bearer tokens from HelseID (devidp locally), checked against the issuer's published keys."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from sharing import oidc
from sharing.core.actor import Actor, Role
from sharing.core.helseid import CLAIM_CLIENT_NAME, CLAIM_ORGNR_CHILD, CLAIM_ORGNR_PARENT

logger = logging.getLogger(__name__)

SCOPE_OBSERVATION_WRITE = "maaledata/observation.write"


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
    """Signature against the issuer's JWKS, issuer, audience, expiry; raises jwt.PyJWTError."""
    signing_key = oidc.jwks_client().get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256", "PS256", "ES256"],
        audience=settings.FHIR_API_AUDIENCE,
        issuer=oidc.discovery()["issuer"],
        options={"require": ["exp", "iat", "iss", "aud"]},
        leeway=30,
    )
    return claims


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiClient, dict[str, Any]] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <access token>'.")
        try:
            claims = verify_access_token(token.strip())
        except (jwt.PyJWTError, KeyError) as exc:
            logger.info("Rejected bearer token: %s", exc)
            raise exceptions.AuthenticationFailed(f"The access token is not valid: {exc}") from exc
        scope = claims.get("scope", "")
        scopes = frozenset(scope.split() if isinstance(scope, str) else scope)
        client = ApiClient(
            client_id=str(claims.get("client_id", "")),
            name=str(claims.get(CLAIM_CLIENT_NAME, "")),
            orgnr_parent=str(claims.get(CLAIM_ORGNR_PARENT, "")),
            orgnr_child=str(claims.get(CLAIM_ORGNR_CHILD, "")),
            scopes=scopes,
        )
        return client, claims

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="maaledata"'


class CanWriteObservations(BasePermission):
    message = f"The access token lacks the scope {SCOPE_OBSERVATION_WRITE}."

    def has_permission(self, request: Request, view: Any) -> bool:
        client = request.user
        return isinstance(client, ApiClient) and SCOPE_OBSERVATION_WRITE in client.scopes
