"""HelseID client pieces mozilla-django-oidc lacks: the client key, private_key_jwt, PAR and DPoP."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sharing import oidc
from sharing.core import helseid as claims

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# HelseID allows at most 60 seconds between iat and exp; NHN's own clients use 10-30 s.
ASSERTION_LIFETIME_SECONDS = 20
# The JWT type of a client assertion (draft-ietf-oauth-rfc7523bis), as NHN's samples now send.
ASSERTION_JWT_TYPE = "client-authentication+jwt"

# The claims the login reads, named once in sharing/core/helseid.py.
CLAIM_PID = claims.CLAIM_PID
CLAIM_SECURITY_LEVEL = claims.CLAIM_SECURITY_LEVEL
CLAIM_HPR_NUMBER = claims.CLAIM_HPR_NUMBER
CLAIM_ORGNR_PARENT = claims.CLAIM_ORGNR_PARENT
CLAIM_ORGNR_CHILD = claims.CLAIM_ORGNR_CHILD
CLAIM_HPR_DETAILS = claims.CLAIM_HPR_DETAILS

PrivateKey = RSAPrivateKey | ec.EllipticCurvePrivateKey
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})


@dataclass(frozen=True)
class ClientKey:
    """The portal's signing key, with the `kid` HelseID knows its public half by."""

    key: PrivateKey
    kid: str
    alg: str


# --- keys ------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(key: PrivateKey) -> dict[str, Any]:
    """The public JWK of `key`, with its RFC 7638 thumbprint as `kid`."""
    if isinstance(key, RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        required = {
            "e": _b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
            "kty": "RSA",
            "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        }
        alg = "RS256"
    else:
        point = key.public_key().public_numbers()
        size = (key.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[key.curve.name]
        required = {
            "crv": crv,
            "kty": "EC",
            "x": _b64(point.x.to_bytes(size, "big")),
            "y": _b64(point.y.to_bytes(size, "big")),
        }
        alg = _EC_ALGORITHMS[key.curve.name]
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    kid = _b64(hashlib.sha256(canonical).digest())
    return {**required, "kid": kid, "alg": alg, "use": "sig"}


@lru_cache(maxsize=8)
def _load_key(text: str) -> RSAPrivateKey:
    """An RSA key from PEM (kept for the tests' system clients and devidp set-up)."""
    key = load_client_key(text).key
    if not isinstance(key, RSAPrivateKey):
        raise ImproperlyConfigured("Expected an RSA private key.")
    return key


@lru_cache(maxsize=8)
def load_client_key(text: str, kid: str = "") -> ClientKey:
    """A private key from PEM or from a JWK (HelseID Selvbetjening hands out JWKs).

    The `kid` is, in order: the one given, the JWK's own, the key's RFC 7638 thumbprint.
    """
    text = text.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
            jwk = jwt.PyJWK(document)
        except (ValueError, jwt.PyJWTError) as exc:
            raise ImproperlyConfigured(f"The OIDC client key is not a usable JWK: {exc}") from exc
        key = jwk.key
        kid = kid or str(document.get("kid", ""))
        alg = str(document.get("alg", ""))
    else:
        alg = ""
        # Environment files often carry a PEM on one line with literal "\n".
        pem = text.replace("\\n", "\n").encode()
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"The OIDC client key is not a usable PEM private key: {exc}") from exc
    if not isinstance(key, RSAPrivateKey | ec.EllipticCurvePrivateKey) or (
        isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in _EC_ALGORITHMS
    ):
        raise ImproperlyConfigured("The OIDC client key must be an RSA or EC (P-256/384/521) private key.")
    public = public_jwk(key)
    # The key's own algorithm: the JWK's `alg` (RS* or PS* for RSA), else RS256 for RSA, ES* by curve.
    allowed = _RSA_ALGORITHMS if isinstance(key, RSAPrivateKey) else {public["alg"]}
    if alg and alg not in allowed:
        raise ImproperlyConfigured(
            f"The OIDC client key's alg {alg!r} does not fit the key ({', '.join(sorted(allowed))})."
        )
    return ClientKey(key=key, kid=kid or public["kid"], alg=alg or public["alg"])


def client_key() -> ClientKey:
    """The configured key: OIDC_RP_PRIVATE_KEY (PEM or JWK text) or the file OIDC_RP_PRIVATE_KEY_FILE."""
    text = settings.OIDC_RP_PRIVATE_KEY
    if not text:
        path = settings.OIDC_RP_PRIVATE_KEY_FILE
        if not path or not Path(path).is_file():
            raise ImproperlyConfigured(
                "Set OIDC_RP_PRIVATE_KEY or OIDC_RP_PRIVATE_KEY_FILE to the client's private key (PEM or JWK)."
            )
        text = Path(path).read_text()
    return load_client_key(text, settings.OIDC_RP_PRIVATE_KEY_KID)


def private_key() -> PrivateKey:
    return client_key().key


# --- private_key_jwt ---------------------------------------------------------------------


def client_assertion(
    *,
    client_id: str,
    key: PrivateKey,
    audience: str,
    kid: str = "",
    alg: str = "",
    extra: dict[str, Any] | None = None,
) -> str:
    """A client assertion as HelseID wants it: typ client-authentication+jwt, iss = sub = client_id,
    aud = the issuer, 20 s, a unique jti, signed with the key's own algorithm; `extra` claims
    (authorization_details) beside them."""
    now = int(time.time())
    claims: dict[str, Any] = {
        **(extra or {}),
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + ASSERTION_LIFETIME_SECONDS,
        "jti": str(uuid.uuid4()),
    }
    public = public_jwk(key)
    headers = {"kid": kid or public["kid"], "typ": ASSERTION_JWT_TYPE}
    return jwt.encode(claims, key, algorithm=alg or public["alg"], headers=headers)


def client_auth_params(extra: dict[str, Any] | None = None) -> dict[str, str]:
    """The form fields that authenticate the portal to the token and PAR endpoints."""
    configured = client_key()
    assertion = client_assertion(
        client_id=settings.OIDC_RP_CLIENT_ID,
        key=configured.key,
        kid=configured.kid,
        alg=configured.alg,
        audience=oidc.discovery()["issuer"],
        extra=extra,
    )
    return {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
    }


# --- PAR -------------------------------------------------------------------------------


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


# --- DPoP and the token endpoint ---------------------------------------------------------


def dpop_proof(*, key: ec.EllipticCurvePrivateKey, method: str, url: str, nonce: str = "", ath: str = "") -> str:
    """A DPoP proof (RFC 9449) for one request: typ dpop+jwt, the public key in the header."""
    jwk = {name: value for name, value in public_jwk(key).items() if name not in {"kid", "alg", "use"}}
    parts = urlsplit(url)
    claims: dict[str, Any] = {
        "jti": str(uuid.uuid4()),
        "htm": method,
        "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        "iat": int(time.time()),
    }
    if nonce:
        claims["nonce"] = nonce
    if ath:
        claims["ath"] = ath
    return jwt.encode(claims, key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": jwk})


def asks_for_dpop_nonce(response: requests.Response) -> bool:
    """Whether the answer is RFC 9449's demand for a server nonce (`use_dpop_nonce` + DPoP-Nonce)."""
    if response.status_code not in (400, 401) or not response.headers.get("DPoP-Nonce"):
        return False
    try:
        return bool(response.json().get("error") == "use_dpop_nonce")
    except ValueError:
        return False


def revoke_refresh_token(token: str) -> None:
    """Tell HelseID the refresh token is done with (at logout); best effort, errors are ignored."""
    endpoint = oidc.discovery().get("revocation_endpoint")
    if not token or not endpoint:
        return
    try:
        requests.post(
            endpoint,
            data={"token": token, "token_type_hint": "refresh_token", **client_auth_params()},
            timeout=settings.OIDC_TIMEOUT,
            verify=settings.OIDC_VERIFY_SSL,
        )
    except requests.RequestException:
        pass


def authorization_details(orgnr_parent: str, orgnr_child: str = "") -> list[dict[str, Any]]:
    """HelseID's authorization_details for a multi-tenant client acting for an organisation (and unit)."""
    return [
        {
            "type": "helseid_authorization",
            "practitioner_role": {
                "organization": {
                    "identifier": {
                        "system": "urn:oid:1.0.6523",
                        "type": "ENH",
                        "value": f"NO:ORGNR:{orgnr_parent}:{orgnr_child}",
                    }
                }
            },
        }
    ]


def token_request(data: dict[str, str], assertion_claims: dict[str, Any] | None = None) -> requests.Response:
    """POST to the token endpoint with a client assertion and, when configured, a DPoP proof.

    The DPoP key lives for this one exchange: the portal reads the person from the ID token
    and calls no API with the access token.
    """
    endpoint = oidc.discovery()["token_endpoint"]
    if not settings.OIDC_USE_DPOP:
        return requests.post(
            endpoint,
            data={**data, **client_auth_params(assertion_claims)},
            timeout=settings.OIDC_TIMEOUT,
            verify=settings.OIDC_VERIFY_SSL,
        )
    key = ec.generate_private_key(ec.SECP256R1())
    response = post_with_dpop(
        endpoint,
        data=lambda: {**data, **client_auth_params(assertion_claims)},
        proof=lambda nonce: dpop_proof(key=key, method="POST", url=endpoint, nonce=nonce),
    )
    response.dpop_key = key  # type: ignore[attr-defined]  # for the one userinfo call (fetch_userinfo)
    return response


def fetch_userinfo(access_token: str, *, dpop_key: ec.EllipticCurvePrivateKey | None) -> dict[str, Any]:
    """HelseID's userinfo for this login (where hpr_details lives), with the access token bound to
    `dpop_key` (a DPoP proof carrying `ath`), or as a bearer token when DPoP is off."""
    endpoint = oidc.discovery()["userinfo_endpoint"]
    if dpop_key is None:
        response = requests.get(
            endpoint,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=settings.OIDC_TIMEOUT,
            verify=settings.OIDC_VERIFY_SSL,
        )
    else:
        ath = _b64(hashlib.sha256(access_token.encode()).digest())
        nonce = ""
        for _attempt in range(2):
            proof = dpop_proof(key=dpop_key, method="GET", url=endpoint, nonce=nonce, ath=ath)
            response = requests.get(
                endpoint,
                headers={"Authorization": f"DPoP {access_token}", "DPoP": proof},
                timeout=settings.OIDC_TIMEOUT,
                verify=settings.OIDC_VERIFY_SSL,
            )
            if nonce or not response.headers.get("DPoP-Nonce") or response.status_code not in (400, 401):
                break
            nonce = response.headers["DPoP-Nonce"]
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def post_with_dpop(
    url: str, *, data: Callable[[], dict[str, str]], proof: Callable[[str], str], timeout: float | None = None
) -> requests.Response:
    """POST with a DPoP proof; when the server demands a nonce (HelseID does at its token endpoint
    on the first proof), once more with a new proof carrying it and a new client assertion."""
    nonce = ""
    for _attempt in range(2):
        response = requests.post(
            url,
            data=data(),
            headers={"DPoP": proof(nonce)},
            timeout=timeout or settings.OIDC_TIMEOUT,
            verify=settings.OIDC_VERIFY_SSL,
        )
        if nonce or not asks_for_dpop_nonce(response):
            break
        nonce = response.headers["DPoP-Nonce"]
    return response
