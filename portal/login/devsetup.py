"""Keys and client registrations for devidp, the local HelseID stand-in (development and tests only).

What is written here is what HelseID Selvbetjening would hold: the clients (with their public
keys) and the API resource, named from settings (FHIR_API_AUDIENCE and its scopes) with the user
claims its access tokens may carry. devidp reads nothing about our API from anywhere else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from .helseid import _load_key, public_jwk

PORTAL_CLIENT_ID = "maaledata-portal"
# The portal's supplier (Måledata Drift AS), to whom its customers delegate in Altinn.
PORTAL_SUPPLIER_ORGNR = "316666019"
# The legal entities that have delegated to the supplier (HelseID checks this in Altinn): the demo
# municipalities, hospitals and GP office. Any other organisation is refused by devidp.
DELEGATED_ORGNRS = ("311111019", "312222019", "313333019", "314444019", "315555019", "316666019")
USER_SCOPES = (
    "openid profile helseid://scopes/identity/pid helseid://scopes/identity/security_level "
    "helseid://scopes/hpr/hpr_number"
)
# Where the EPJ stand-in (portal/login/devclient.py) "receives" its code; nothing listens there.
EPJ_REDIRECT = "http://127.0.0.1:9/epj/callback"
BACKCHANNEL_LOGOUT_PATH = "/oidc/backchannel-logout/"


def api_resource() -> dict[str, Any]:
    """Our API as registered in HelseID: audience, scopes, and the user claims it asks for."""
    return {
        "audience": settings.FHIR_API_AUDIENCE,
        "scopes": [
            settings.FHIR_SCOPE_OBSERVATION_WRITE,
            settings.FHIR_SCOPE_OBSERVATION_READ,
            settings.FHIR_SCOPE_AUDITEVENT_READ,
            settings.FHIR_SCOPE_EXPORT,
        ],
        "user_claims": list(settings.FHIR_API_USER_CLAIMS),
    }


def system_clients() -> dict[str, dict[str, Any]]:
    """One client per municipality's VKP connection, which pushes measurements (client credentials),
    and hospital and GP systems that log their user in (PAR, PKCE) and read measurements: the
    EPJ with DPoP-bound tokens, as PMD demands, and a GP system that cannot do DPoP (for the
    FHIR_UNBOUND_READ_CLIENTS allow-list)."""
    reader_scope = f"{USER_SCOPES} {settings.FHIR_SCOPE_OBSERVATION_READ}"
    # A municipality's own system writes, and may export its municipality's data (return of data).
    sender_scope = f"{settings.FHIR_SCOPE_OBSERVATION_WRITE} {settings.FHIR_SCOPE_EXPORT}"
    user_client = {
        "grant_types": ["authorization_code", "client_credentials"],
        "response_types": ["code"],
        "redirect_uris": [EPJ_REDIRECT],
        "require_pushed_authorization_requests": True,
        "scope": reader_scope,
    }
    return {
        "vkp-oslo": {"client_name": "VKP Oslo kommune", "orgnr_parent": "311111019", "scope": sender_scope},
        "vkp-baerum": {"client_name": "VKP Bærum kommune", "orgnr_parent": "315555019", "scope": sender_scope},
        # The national hub (Norsk helsenett SF), sending for every municipality that authorised it.
        "vkp-hub": {"client_name": "Velferdsteknologisk knutepunkt (VKP)", "orgnr_parent": "994598759"},
        "epj-lovisenberg": {
            "client_name": "EPJ Lovisenberg Diakonale Sykehus",
            "orgnr_parent": "312222019",
            "orgnr_child": "312345013",
            "dpop_bound_access_tokens": True,
            **user_client,
        },
        # A hospital without any agreement (its users are refused and logged).
        "epj-fjordvik": {
            "client_name": "EPJ Fjordvik sykehus",
            "orgnr_parent": "314444019",
            "dpop_bound_access_tokens": True,
            **user_client,
        },
        "epj-sagene": {
            "client_name": "Journalsystem Sagene legesenter (uten DPoP)",
            "orgnr_parent": "313333019",
            **user_client,
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


def _public(keys_dir: Path, client_id: str) -> dict[str, Any]:
    return public_jwk(_load_key(ensure_key(keys_dir / f"{client_id}.pem")))


def client_entries(*, keys_dir: Path, portal_urls: list[str], logout_base: str = "") -> list[dict[str, Any]]:
    """The clients; `logout_base` is the portal URL devidp can reach for back-channel logout
    (default: the first of `portal_urls`)."""
    portal_jwk = _public(keys_dir, "portal")
    clients: list[dict[str, Any]] = [
        {
            "client_id": PORTAL_CLIENT_ID,
            "client_name": "Måledata portal",
            "redirect_uris": [f"{url.rstrip('/')}/oidc/callback/" for url in portal_urls],
            "post_logout_redirect_uris": [f"{url.rstrip('/')}/innlogging/" for url in portal_urls],
            "backchannel_logout_uri": f"{(logout_base or portal_urls[0]).rstrip('/')}{BACKCHANNEL_LOGOUT_PATH}",
            "backchannel_logout_session_required": True,
            # refresh_token: to switch organisation without a new login, HelseID's pattern
            # (authorization_details in the refresh grant's client assertion).
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": portal_jwk["alg"],
            # As HelseID demands of the portal: PAR, and DPoP-bound tokens (FAPI 2.0).
            "require_pushed_authorization_requests": True,
            "dpop_bound_access_tokens": True,
            # offline_access: HelseID issues a refresh token only with it.
            "scope": f"{USER_SCOPES} offline_access",
            "client_tenancy": "multi-tenant",
            "orgnr_supplier": PORTAL_SUPPLIER_ORGNR,
            "jwks": {"keys": [portal_jwk]},
        }
    ]
    for client_id, meta in system_clients().items():
        jwk = _public(keys_dir, client_id)
        clients.append(
            {
                "client_id": client_id,
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": jwk["alg"],
                "scope": settings.FHIR_SCOPE_OBSERVATION_WRITE,
                "client_tenancy": "single-tenant",
                **meta,
                "jwks": {"keys": [jwk]},
            }
        )
    return clients


def delegations() -> list[dict[str, str]]:
    """The organisations that have delegated to the portal's supplier, as devidp reads them."""
    return [{"orgnr_parent": orgnr, "orgnr_supplier": PORTAL_SUPPLIER_ORGNR} for orgnr in DELEGATED_ORGNRS]


def clients_document(*, keys_dir: Path, portal_urls: list[str], logout_base: str = "") -> dict[str, Any]:
    """devidp's DEVIDP_CLIENTS_FILE: the clients and the API resources."""
    return {
        "clients": client_entries(keys_dir=keys_dir, portal_urls=portal_urls, logout_base=logout_base),
        "api_resources": [api_resource()],
        "delegations": delegations(),
    }


def write_clients_file(*, path: Path, keys_dir: Path, portal_urls: list[str], logout_base: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = clients_document(keys_dir=keys_dir, portal_urls=portal_urls, logout_base=logout_base)
    path.write_text(json.dumps(document, indent=2))
    return path
