"""Keys and client registrations for devidp, the local HelseID stand-in (development and tests only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .helseid import _load_key, public_jwk

PORTAL_CLIENT_ID = "maaledata-portal"
PORTAL_SCOPES = (
    "openid profile helseid://scopes/identity/pid helseid://scopes/identity/security_level "
    "helseid://scopes/hpr/hpr_number"
)
# Where the EPJ stand-in (portal/login/devclient.py) "receives" its code; nothing listens there.
EPJ_REDIRECT = "http://127.0.0.1:9/epj/callback"
# Other clients: one per municipality's VKP connection, which pushes measurements (client
# credentials), and a hospital EPJ that logs its user in (PAR, PKCE) or acts as a system, and
# reads measurements with DPoP-bound tokens only, as PMD demands of its clients.
SYSTEM_CLIENTS: dict[str, dict[str, Any]] = {
    "vkp-oslo": {"client_name": "VKP Oslo kommune", "orgnr_parent": "311111019"},
    "vkp-baerum": {"client_name": "VKP Bærum kommune", "orgnr_parent": "315555019"},
    "epj-lovisenberg": {
        "client_name": "EPJ Lovisenberg Diakonale Sykehus",
        "orgnr_parent": "312222019",
        "orgnr_child": "312345013",
        "grant_types": ["authorization_code", "client_credentials"],
        "response_types": ["code"],
        "redirect_uris": [EPJ_REDIRECT],
        "require_pushed_authorization_requests": True,
        "dpop_bound_access_tokens": True,
        "scope": (
            "openid profile helseid://scopes/identity/pid helseid://scopes/identity/security_level "
            "helseid://scopes/hpr/hpr_number maaledata/observation.read"
        ),
    },
}


def ensure_key(path: Path) -> str:
    """The PEM at `path`, created (RSA 2048) if it does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return path.read_text()


def client_entries(*, keys_dir: Path, portal_urls: list[str]) -> list[dict[str, Any]]:
    portal_key = _load_key(ensure_key(keys_dir / "portal.pem"))
    clients: list[dict[str, Any]] = [
        {
            "client_id": PORTAL_CLIENT_ID,
            "client_name": "Måledata portal",
            "redirect_uris": [f"{url.rstrip('/')}/oidc/callback/" for url in portal_urls],
            "post_logout_redirect_uris": [f"{url.rstrip('/')}/innlogging/" for url in portal_urls],
            # No refresh_token: the portal keeps no tokens, so none should outlive the login.
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "RS256",
            # As HelseID demands of the portal: PAR, and DPoP-bound tokens (FAPI 2.0).
            "require_pushed_authorization_requests": True,
            "dpop_bound_access_tokens": True,
            "scope": PORTAL_SCOPES,
            "jwks": {"keys": [public_jwk(portal_key)]},
        }
    ]
    for client_id, meta in SYSTEM_CLIENTS.items():
        key = _load_key(ensure_key(keys_dir / f"{client_id}.pem"))
        clients.append(
            {
                "client_id": client_id,
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": "RS256",
                "scope": "maaledata/observation.write",
                **meta,
                "jwks": {"keys": [public_jwk(key)]},
            }
        )
    return clients


def write_clients_file(*, path: Path, keys_dir: Path, portal_urls: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"clients": client_entries(keys_dir=keys_dir, portal_urls=portal_urls)}, indent=2))
    return path
