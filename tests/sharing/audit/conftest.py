"""A devidp with audit systems registered: client-credentials clients with the AuditEvent scope.

The shared `devidp` fixture registers the portal and the VKP and EPJ clients; auditors' systems
are added here, in a devidp of their own, so nothing outside the access log's tests changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from portal.login.devclient import run_devidp
from portal.login.devsetup import ensure_key, write_clients_file
from portal.login.helseid import _load_key, public_jwk
from sharing import oidc
from tests.conftest import ROOT, DevIdP

AUDIT_SCOPE = settings.FHIR_SCOPE_AUDITEVENT_READ
AUDIT_CLIENTS = {
    "revisjon-oslo": {"client_name": "Revisjonssystem Oslo kommune", "orgnr_parent": "311111019"},
    "revisjon-drift": {"client_name": "Revisjon Måledata Drift", "orgnr_parent": "316666019"},
    # A hospital that somehow holds the scope: its organisation is no auditor of anyone's log.
    "revisjon-lovisenberg": {"client_name": "Lovisenberg internrevisjon", "orgnr_parent": "312222019"},
}


@pytest.fixture(scope="session")
def audit_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevIdP]:
    work = tmp_path_factory.mktemp("audit-devidp")
    keys_dir = work / "keys"
    path = write_clients_file(path=work / "clients.json", keys_dir=keys_dir, portal_urls=["http://testserver"])
    clients: dict[str, Any] = json.loads(path.read_text())
    for client_id, meta in AUDIT_CLIENTS.items():
        key = _load_key(ensure_key(keys_dir / f"{client_id}.pem"))
        clients["clients"].append(
            {
                "client_id": client_id,
                **meta,
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": "RS256",
                "scope": AUDIT_SCOPE,
                "jwks": {"keys": [public_jwk(key)]},
            }
        )
    path.write_text(json.dumps(clients))
    log = work / "devidp.log"
    with run_devidp(clients_file=path, log=log, root=ROOT) as (issuer, process):
        yield DevIdP(issuer=issuer, keys_dir=keys_dir, process=process, log=log)


@pytest.fixture
def audit_api(audit_idp: DevIdP, settings: Any) -> DevIdP:
    """Point the API's token checks at the devidp that knows the audit systems."""
    settings.OIDC_ISSUER = audit_idp.issuer
    oidc.forget_cached_metadata()
    return audit_idp
