"""The API's access-token checks as HelseID's guidance for APIs says, against a devidp whose signing
key the test holds: a token devidp issued passes; the same token re-signed with one thing changed
(typ, a second audience, a future nbf) is refused, so each check is what refuses it. And DPoP at
ingest (RFC 9449): the DPoP scheme with a proof is accepted, a bound token sent as Bearer is not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from portal.login import helseid as helseid_client
from portal.login.devclient import DpopKey, epj_user_token, run_devidp
from portal.login.devsetup import write_clients_file
from sharing import oidc
from sharing.measurements.models import Measurement
from tests.conftest import ROOT, DevIdP

from .ingest_helpers import FHIR_JSON, heart_rate

pytestmark = pytest.mark.django_db(transaction=True)
KID = "test-held-key"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keyed_idp(live_server: Any, tmp_path_factory: pytest.TempPathFactory, signing_key: Any) -> Iterator[DevIdP]:
    work = tmp_path_factory.mktemp("keyed-devidp")
    jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key)), "kid": KID, "alg": "RS256", "use": "sig"}
    (work / "signing.json").write_text(json.dumps({"keys": [jwk]}))
    clients = write_clients_file(path=work / "clients.json", keys_dir=work / "keys", portal_urls=[live_server.url])
    log = work / "devidp.log"
    env = {"DEVIDP_KEYS_FILE": str(work / "signing.json")}
    with run_devidp(clients_file=clients, log=log, root=ROOT, env=env) as (issuer, process):
        yield DevIdP(issuer=issuer, keys_dir=work / "keys", process=process, log=log)


@pytest.fixture
def idp(keyed_idp: DevIdP, settings: Any, oslo: Any) -> DevIdP:
    settings.OIDC_ISSUER = keyed_idp.issuer
    oidc.forget_cached_metadata()
    return keyed_idp


def resign(token: str, key: Any, *, header: dict[str, Any] | None = None, **claims: Any) -> str:
    """The token's claims with `claims` changed, signed again with the IdP's own key."""
    payload = {**jwt.decode(token, options={"verify_signature": False}), **claims}
    headers = {"kid": KID, "typ": "at+jwt", **(header or {})}
    return jwt.encode(payload, key, algorithm="RS256", headers=headers)


def ingest(live_server: Any, token: str, scheme: str = "Bearer", proof: str = "") -> requests.Response:
    headers = {"Authorization": f"{scheme} {token}", "Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    if proof:
        headers["DPoP"] = proof
    return requests.post(f"{live_server.url}/fhir/Observation", json=heart_rate(), headers=headers, timeout=30)


def diagnostics(response: requests.Response) -> str:
    """The stable code (details.coding) and the worded diagnostics, which are Norwegian by default."""
    [issue] = response.json()["issue"]
    [coding] = issue["details"]["coding"]
    return f"{coding['code']}: {issue['diagnostics']}"


def test_devidps_token_is_an_at_jwt_for_our_api_alone_and_passes(live_server, idp, signing_key):
    token = idp.system_token("vkp-oslo")
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == settings.FHIR_API_AUDIENCE
    assert ingest(live_server, token).status_code == 201
    # Re-signed unchanged, it still passes: the refusals below are the changed claim's doing.
    assert ingest(live_server, resign(token, signing_key), proof="").status_code == 201


@pytest.mark.parametrize("typ", ["id_token+jwt", "dpop+jwt", "logout+jwt", None])
def test_a_token_of_another_type_is_refused(live_server, idp, signing_key, typ):
    token = resign(idp.system_token("vkp-oslo"), signing_key, header={"typ": typ})
    response = ingest(live_server, token)
    assert response.status_code == 401
    assert "at+jwt" in diagnostics(response)
    assert not Measurement.objects.exists()


def test_typ_jwt_passes_as_helseids_rules_for_apis_allow(live_server, idp, signing_key):
    """NHN: "The API must verify that the typ header value is at+jwt or JWT"."""
    token = resign(idp.system_token("vkp-oslo"), signing_key, header={"typ": "JWT"})
    assert ingest(live_server, token).status_code == 201


def test_a_token_for_two_audiences_is_refused(live_server, idp, signing_key):
    token = resign(idp.system_token("vkp-oslo"), signing_key, aud=[settings.FHIR_API_AUDIENCE, "nhn:other-api"])
    response = ingest(live_server, token)
    assert response.status_code == 401
    assert "only audience" in diagnostics(response)
    assert not Measurement.objects.exists()


def test_a_token_for_another_audience_is_refused(live_server, idp, signing_key):
    token = resign(idp.system_token("vkp-oslo"), signing_key, aud="nhn:other-api")
    assert ingest(live_server, token).status_code == 401


def test_a_token_not_yet_valid_is_refused(live_server, idp, signing_key):
    token = resign(idp.system_token("vkp-oslo"), signing_key, nbf=int(time.time()) + 20)  # inside the old 30 s leeway
    response = ingest(live_server, token)
    assert response.status_code == 401
    assert "not yet valid" in diagnostics(response)


def test_the_leeway_is_a_few_seconds_not_thirty(live_server, idp, signing_key):
    expired = resign(idp.system_token("vkp-oslo"), signing_key, exp=int(time.time()) - 20)
    assert ingest(live_server, expired).status_code == 401
    just_now = resign(idp.system_token("vkp-oslo"), signing_key, exp=int(time.time()) - 1)
    assert ingest(live_server, just_now).status_code == 201


# --- DPoP at ingest (RFC 9449) ---------------------------------------------------------------------


def bound_system_token(idp: DevIdP, key: DpopKey, client_id: str = "vkp-oslo") -> str:
    """A client-credentials token bound to `key`: the request carries a proof (and devidp's nonce)."""
    endpoint = f"{idp.issuer}/connect/token"
    signing = helseid_client._load_key((idp.keys_dir / f"{client_id}.pem").read_text())

    def form() -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "scope": settings.FHIR_SCOPE_OBSERVATION_WRITE,
            "resource": settings.FHIR_API_AUDIENCE,
            "client_assertion_type": helseid_client.CLIENT_ASSERTION_TYPE,
            "client_assertion": helseid_client.client_assertion(client_id=client_id, key=signing, audience=idp.issuer),
        }

    response = helseid_client.post_with_dpop(
        endpoint, data=form, proof=lambda nonce: key.proof("POST", endpoint, nonce=nonce)
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    return str(response.json()["access_token"])


def test_ingest_accepts_the_dpop_scheme_with_a_valid_proof(live_server, idp):
    key = DpopKey()
    token = bound_system_token(idp, key)
    url = f"{live_server.url}/fhir/Observation"
    response = ingest(live_server, token, scheme="DPoP", proof=key.proof("POST", url, token))
    assert response.status_code == 201, response.text
    assert Measurement.objects.count() == 1


def test_ingest_refuses_a_bound_token_sent_as_bearer(live_server, idp):
    key = DpopKey()
    token = bound_system_token(idp, key)
    response = ingest(live_server, token, scheme="Bearer")
    assert response.status_code == 401
    assert diagnostics(response).startswith("token-bound-as-bearer: ")
    assert not Measurement.objects.exists()


def test_ingest_refuses_a_bound_token_without_a_proof_or_with_a_wrong_one(live_server, idp):
    key = DpopKey()
    token = bound_system_token(idp, key)
    url = f"{live_server.url}/fhir/Observation"
    assert ingest(live_server, token, scheme="DPoP").status_code == 401
    assert ingest(live_server, token, scheme="DPoP", proof=DpopKey().proof("POST", url, token)).status_code == 401
    assert ingest(live_server, token, scheme="DPoP", proof=key.proof("GET", url, token)).status_code == 401
    assert not Measurement.objects.exists()


def test_an_unbound_token_under_the_dpop_scheme_is_refused(live_server, idp):
    token = idp.system_token("vkp-oslo")
    url = f"{live_server.url}/fhir/Observation"
    response = ingest(live_server, token, scheme="DPoP", proof=DpopKey().proof("POST", url, token))
    assert response.status_code == 401
    assert diagnostics(response).startswith("token-unbound-as-dpop: ")


# --- reads: DPoP-bound, unless the client is on the allow-list ------------------------------------


def read(live_server: Any, token: str) -> requests.Response:
    return requests.get(
        f"{live_server.url}/fhir/Observation",
        params={"patient.identifier": "30875928763"},
        headers={"Authorization": f"Bearer {token}", "X-Access-Reason": "Innlagt"},
        timeout=30,
    )


def test_an_unbound_user_token_reads_only_for_a_client_on_the_allow_list(live_server, idp, settings, patient_data):
    token = epj_user_token(idp, "ingrid-berg", None, client_id="epj-sagene")
    refused = read(live_server, token)
    assert refused.status_code == 401
    assert diagnostics(refused).startswith("token-not-bound: ")

    settings.FHIR_UNBOUND_READ_CLIENTS = frozenset({"epj-sagene"})
    assert read(live_server, token).status_code == 200
    # The allow-list names clients, not tokens: another client's unbound token is still refused.
    settings.FHIR_UNBOUND_READ_CLIENTS = frozenset({"epj-other"})
    assert read(live_server, token).status_code == 401


def test_user_tokens_carry_only_the_user_claims_the_api_registration_lists(idp):
    token = epj_user_token(idp, "ingrid-berg", DpopKey())
    claims = jwt.decode(token, options={"verify_signature": False})
    listed = set(settings.FHIR_API_USER_CLAIMS)
    assert {"helseid://claims/identity/pid", "helseid://claims/hpr/hpr_number"} <= listed
    assert claims["helseid://claims/identity/pid"] == "12837826592"
    # given_name and family_name are not in the API's registration, so HelseID leaves them out.
    assert "given_name" not in claims and "family_name" not in claims
    assert claims["sid"]
    assert claims["exp"] - claims["iat"] == 600
    assert claims["helseid://claims/client/claims/client_tenancy"] == "single-tenant"
