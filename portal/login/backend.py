"""mozilla-django-oidc, told how HelseID works: private_key_jwt, DPoP, strict ID tokens, users by `sub`."""

from __future__ import annotations

import logging
import time
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from sharing import oidc
from sharing.access import people
from sharing.audit.actions import record_event
from sharing.core.actor import Actor
from sharing.core.helseid import hpr_details

from . import helseid
from .models import Profile

logger = logging.getLogger(__name__)

REFUSAL_SESSION_KEY = "login_refused"
# Seconds of clock difference tolerated between HelseID and the portal.
CLOCK_LEEWAY_SECONDS = 30
# The ID token's claims of this login, handed from the backend to the callback view.
CLAIMS_REQUEST_ATTRIBUTE = "helseid_claims"
# Set by the callback view when the login asked for a fresh authentication (prompt=login).
FRESH_SINCE_REQUEST_ATTRIBUTE = "helseid_fresh_since"
# The refresh token of this login (portal.login.organisations switches organisation with it).
REFRESH_TOKEN_SESSION_KEY = "helseid_refresh_token"  # noqa: S105 (a session key name)


def refuse(request: Any, reason: str, **details: str) -> None:
    """Remember why the login was refused, for the refusal page."""
    request.session[REFUSAL_SESSION_KEY] = {"reason": reason, **details}


class HelseIDBackend(OIDCAuthenticationBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Endpoints come from discovery when needed, not from settings at import time.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = ""
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.UserModel = get_user_model()

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        payload.pop("client_secret", None)
        response = helseid.token_request(payload)
        self.raise_token_response_error(response)
        result: dict[str, Any] = response.json()
        self._dpop_key = getattr(response, "dpop_key", None)
        # Kept in the (server-side) session: the organisation is switched with a refresh_token
        # grant whose client assertion names it (HelseID's pattern), never with a new login.
        if result.get("refresh_token"):
            self.request.session[REFRESH_TOKEN_SESSION_KEY] = result["refresh_token"]
        return result

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """Signature (JWKS, refetched on an unknown kid), issuer, audience, expiry, nonce, auth_time."""
        try:
            key = oidc.jwks_client().get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "PS256", "ES256"],
                audience=settings.OIDC_RP_CLIENT_ID,
                issuer=oidc.discovery()["issuer"],
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=CLOCK_LEEWAY_SECONDS,
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token rejected: {exc}") from exc
        if claims.get("nonce") != kwargs.get("nonce"):
            raise SuspiciousOperation("ID token nonce does not match the login request.")
        fresh_since = getattr(self.request, FRESH_SINCE_REQUEST_ATTRIBUTE, None)
        if fresh_since is not None and int(claims.get("auth_time", 0)) < fresh_since - CLOCK_LEEWAY_SECONDS:
            raise SuspiciousOperation("A fresh login was asked for, but the ID token's auth_time is older.")
        return claims

    def get_user(self, user_id: Any) -> Any:
        """Every request loads the user; bring the HelseID profile in the same query."""
        return self.UserModel.objects.select_related("helseid").filter(pk=user_id).first()

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The identity claims from the ID token (verify_token has checked it); hpr_details, which
        HelseID serves from userinfo only, from there. Without it no authorisation is known."""
        claims = dict(payload)
        if not payload.get(helseid.CLAIM_HPR_NUMBER):
            return claims
        try:
            userinfo = helseid.fetch_userinfo(access_token, dpop_key=getattr(self, "_dpop_key", None))
        except (requests.RequestException, ValueError) as exc:
            logger.warning("userinfo unavailable, no hpr_details: %s", exc)
            return claims
        if userinfo.get("sub") == payload.get("sub"):
            claims[helseid.CLAIM_HPR_DETAILS] = hpr_details(userinfo.get(helseid.CLAIM_HPR_DETAILS))
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        if not claims.get("sub"):
            return False
        level = str(claims.get(helseid.CLAIM_SECURITY_LEVEL, ""))
        if level != settings.OIDC_REQUIRED_SECURITY_LEVEL:
            refuse(self.request, "security-level", level=level)
            record_event(
                event="user.login",
                outcome="refused",
                by=_actor_from_claims(claims),
                data={"reason": "security-level", "security_level": level},
            )
            return False
        setattr(self.request, CLAIMS_REQUEST_ATTRIBUTE, claims)
        return True

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(helseid__sub=claims["sub"])

    def create_user(self, claims: dict[str, Any]) -> Any:
        with transaction.atomic():
            user = self.UserModel.objects.create_user(username=f"helseid-{claims['sub'][:100]}")
            Profile.objects.create(user=user, sub=claims["sub"])
        return self.update_user(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        """The claims of this login replace those of the last: HelseID is the source."""
        fields = profile_fields(claims)
        Profile.objects.filter(user=user).update(**fields)
        # The name an admin sees beside this person's number (sharing.access.people): HelseID's.
        people.note_login(pid=fields["pid"], hpr_number=fields["hpr_number"], name=fields["name"])
        user.refresh_from_db()
        return user


def profile_fields(claims: dict[str, Any]) -> dict[str, Any]:
    def text(name: str) -> str:
        return str(claims.get(name, "") or "")

    return {
        "pid": text(helseid.CLAIM_PID),
        "hpr_number": text(helseid.CLAIM_HPR_NUMBER),
        "name": text("name"),
        "security_level": text(helseid.CLAIM_SECURITY_LEVEL),
        "orgnr_parent": text(helseid.CLAIM_ORGNR_PARENT),
        "orgnr_child": text(helseid.CLAIM_ORGNR_CHILD),
        "idp": text("idp"),
        "hpr_details": hpr_details(claims.get(helseid.CLAIM_HPR_DETAILS)),
    }


def _actor_from_claims(claims: dict[str, Any]) -> Actor:
    """Who tried to log in, for the audit record of a refused login (no user is created)."""
    fields = profile_fields(claims)
    return Actor(
        sub=str(claims["sub"]),
        pid=fields["pid"],
        hpr_number=fields["hpr_number"],
        name=fields["name"],
        security_level=fields["security_level"],
        orgnr_parent=fields["orgnr_parent"],
        orgnr_child=fields["orgnr_child"],
        client_id=settings.OIDC_RP_CLIENT_ID,
    )


def auth_time(claims: dict[str, Any]) -> int:
    """When the person last authenticated at HelseID (auth_time, else iat)."""
    for name in ("auth_time", "iat"):
        value = claims.get(name)
        if isinstance(value, int | float):
            return int(value)
    return int(time.time())
