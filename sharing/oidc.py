"""The identity provider's published metadata and keys (HelseID, or devidp locally)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import jwt
import requests
from django.conf import settings

_lock = threading.Lock()
_discovery: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks_clients: dict[str, jwt.PyJWKClient] = {}
DISCOVERY_TTL_SECONDS = 3600


def discovery(issuer: str | None = None) -> dict[str, Any]:
    """The issuer's discovery document, cached for an hour."""
    issuer = (issuer or settings.OIDC_ISSUER).rstrip("/")
    with _lock:
        cached = _discovery.get(issuer)
        if cached and time.monotonic() - cached[0] < DISCOVERY_TTL_SECONDS:
            return cached[1]
    response = requests.get(
        f"{issuer}/.well-known/openid-configuration",
        timeout=settings.OIDC_TIMEOUT,
        verify=settings.OIDC_VERIFY_SSL,
    )
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    if document.get("issuer", "").rstrip("/") != issuer:
        raise ValueError(f"Discovery document names issuer {document.get('issuer')!r}, expected {issuer!r}.")
    with _lock:
        _discovery[issuer] = (time.monotonic(), document)
    return document


def jwks_client(issuer: str | None = None) -> jwt.PyJWKClient:
    """A JWKS client that refetches when it meets an unknown key id (key rotation)."""
    uri = discovery(issuer)["jwks_uri"]
    with _lock:
        client = _jwks_clients.get(uri)
        if client is None:
            client = jwt.PyJWKClient(uri, cache_keys=True, lifespan=300, timeout=settings.OIDC_TIMEOUT)
            _jwks_clients[uri] = client
        return client


# Access tokens verified in this process (signature, typ, issuer, audience), by their exact text and
# the issuer and audience they were checked for: a system presents one token for many calls. The
# caller checks the times at every use. Bounded; the oldest is dropped first.
_VERIFIED_MAX = 1024
_verified: OrderedDict[tuple[str, ...], dict[str, Any]] = OrderedDict()


def verified_claims(key: tuple[str, ...]) -> dict[str, Any] | None:
    """A copy of the claims of a token verified before under `key`, or None."""
    with _lock:
        claims = _verified.get(key)
        if claims is None:
            return None
        _verified.move_to_end(key)
        return dict(claims)


def remember_verified(key: tuple[str, ...], claims: dict[str, Any]) -> None:
    """Remember a verified token's claims (only with a numeric exp, which the caller re-checks)."""
    exp, nbf = claims.get("exp"), claims.get("nbf", 0)
    if not isinstance(exp, int | float) or isinstance(exp, bool) or not isinstance(nbf, int | float):
        return
    with _lock:
        _verified[key] = dict(claims)
        while len(_verified) > _VERIFIED_MAX:
            _verified.popitem(last=False)


def forget_cached_metadata() -> None:
    """Drop cached discovery documents, keys and verified tokens (tests start fresh IdPs)."""
    with _lock:
        _discovery.clear()
        _jwks_clients.clear()
        _verified.clear()
