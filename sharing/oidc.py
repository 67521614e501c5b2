"""The identity provider's published metadata and keys (HelseID, or devidp locally)."""

from __future__ import annotations

import threading
import time
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


def forget_cached_metadata() -> None:
    """Drop cached discovery documents and keys (tests start fresh IdPs)."""
    with _lock:
        _discovery.clear()
        _jwks_clients.clear()
