"""mozilla-django-oidc, told how HelseID works: private_key_jwt, strict ID tokens, users by `sub`."""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from sharing import oidc

from . import helseid
from .models import Profile

logger = logging.getLogger(__name__)

REFUSAL_SESSION_KEY = "login_refused"


class HelseIDBackend(OIDCAuthenticationBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Endpoints come from discovery when needed, not from settings at import time.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = ""
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.UserModel = get_user_model()

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        payload.pop("client_secret", None)
        response = requests.post(
            oidc.discovery()["token_endpoint"],
            data={**payload, **helseid.client_auth_params()},
            timeout=settings.OIDC_TIMEOUT,
            verify=settings.OIDC_VERIFY_SSL,
        )
        self.raise_token_response_error(response)
        result: dict[str, Any] = response.json()
        return result

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """Signature (JWKS, refetched on an unknown kid), issuer, audience, expiry and nonce."""
        try:
            key = oidc.jwks_client().get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "PS256", "ES256"],
                audience=settings.OIDC_RP_CLIENT_ID,
                issuer=oidc.discovery()["issuer"],
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token rejected: {exc}") from exc
        if claims.get("nonce") != kwargs.get("nonce"):
            raise SuspiciousOperation("ID token nonce does not match the login request.")
        return claims

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        # HelseID puts the identity claims in the ID token, which verify_token has checked.
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        level = str(claims.get(helseid.CLAIM_SECURITY_LEVEL, ""))
        if level != settings.OIDC_REQUIRED_SECURITY_LEVEL:
            self.request.session[REFUSAL_SESSION_KEY] = {"reason": "security-level", "level": level}
            return False
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(helseid__sub=claims["sub"])

    def create_user(self, claims: dict[str, Any]) -> Any:
        with transaction.atomic():
            user = self.UserModel.objects.create_user(username=f"helseid-{claims['sub'][:100]}")
            Profile.objects.create(user=user, sub=claims["sub"])
        return self.update_user(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        """The claims of this login replace those of the last: HelseID is the source."""
        Profile.objects.filter(user=user).update(
            pid=str(claims.get(helseid.CLAIM_PID, "")),
            hpr_number=str(claims.get(helseid.CLAIM_HPR_NUMBER, "") or ""),
            name=str(claims.get("name", "")),
            security_level=str(claims.get(helseid.CLAIM_SECURITY_LEVEL, "")),
            orgnr_parent=str(claims.get(helseid.CLAIM_ORGNR_PARENT, "") or ""),
            orgnr_child=str(claims.get(helseid.CLAIM_ORGNR_CHILD, "") or ""),
            idp=str(claims.get("idp", "")),
        )
        user.refresh_from_db()
        return user
