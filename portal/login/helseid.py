"""HelseID client pieces mozilla-django-oidc lacks: private_key_jwt and PAR."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sharing import oidc

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# HelseID allows at most 60 seconds between iat and exp.
ASSERTION_LIFETIME_SECONDS = 60

CLAIM_PID = "helseid://claims/identity/pid"
CLAIM_SECURITY_LEVEL = "helseid://claims/identity/security_level"
CLAIM_HPR_NUMBER = "helseid://claims/hpr/hpr_number"
CLAIM_ORGNR_PARENT = "helseid://claims/client/claims/orgnr_parent"
CLAIM_ORGNR_CHILD = "helseid://claims/client/claims/orgnr_child"


@lru_cache(maxsize=4)
def _load_key(pem: str) -> RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ImproperlyConfigured("The OIDC client key must be an RSA private key.")
    return key


def private_key() -> RSAPrivateKey:
    pem = settings.OIDC_RP_PRIVATE_KEY
    if not pem:
        path = settings.OIDC_RP_PRIVATE_KEY_FILE
        if not path or not Path(path).exists():
            raise ImproperlyConfigured(
                "Set OIDC_RP_PRIVATE_KEY or OIDC_RP_PRIVATE_KEY_FILE to the client's private key (PEM)."
            )
        pem = Path(path).read_text()
    return _load_key(pem)


def public_jwk(key: RSAPrivateKey) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    jwk = {"kty": "RSA", "e": b64(numbers.e), "n": b64(numbers.n)}
    canonical = json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()  # RFC 7638
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def client_assertion(*, client_id: str, key: RSAPrivateKey, audience: str) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + ASSERTION_LIFETIME_SECONDS,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": public_jwk(key)["kid"]})


def client_auth_params() -> dict[str, str]:
    """The form fields that authenticate the portal to the token and PAR endpoints."""
    assertion = client_assertion(
        client_id=settings.OIDC_RP_CLIENT_ID, key=private_key(), audience=oidc.discovery()["issuer"]
    )
    return {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
    }


class PushedAuthorizationFailed(Exception):
    pass


def push_authorization_request(params: dict[str, str]) -> str:
    """POST the authorization parameters to the PAR endpoint; returns the request_uri."""
    endpoint = oidc.discovery()["pushed_authorization_request_endpoint"]
    response = requests.post(
        endpoint,
        data={**params, **client_auth_params()},
        timeout=settings.OIDC_TIMEOUT,
        verify=settings.OIDC_VERIFY_SSL,
    )
    if response.status_code not in (200, 201):
        raise PushedAuthorizationFailed(f"PAR refused ({response.status_code}): {response.text[:500]}")
    return str(response.json()["request_uri"])
