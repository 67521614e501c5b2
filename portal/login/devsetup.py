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
    "openid profile offline_access helseid://scopes/identity/pid helseid://scopes/identity/security_level "
    "helseid://scopes/hpr/hpr_number"
)
# System clients that push measurements: one per municipality's VKP connection.
SYSTEM_CLIENTS = {
    "vkp-oslo": {"client_name": "VKP Oslo kommune", "orgnr_parent": "311111019"},
    "vkp-baerum": {"client_name": "VKP Bærum kommune", "orgnr_parent": "315555019"},
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
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "RS256",
            "require_pushed_authorization_requests": True,
            "scope": PORTAL_SCOPES,
            "jwks": {"keys": [public_jwk(portal_key)]},
        }
    ]
    for client_id, meta in SYSTEM_CLIENTS.items():
        key = _load_key(ensure_key(keys_dir / f"{client_id}.pem"))
        clients.append(
            {
                "client_id": client_id,
                **meta,
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": "RS256",
                "scope": "maaledata/observation.write",
                "jwks": {"keys": [public_jwk(key)]},
            }
        )
    return clients


def write_clients_file(*, path: Path, keys_dir: Path, portal_urls: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"clients": client_entries(keys_dir=keys_dir, portal_urls=portal_urls)}, indent=2))
    return path
