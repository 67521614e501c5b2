"""Keys and tokens: the client key from PEM or JWK with its kid, HelseID's key rotation, ID tokens
from another issuer, DPoP (with server nonces) — each against real devidp instances."""

import json
import os
import subprocess
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.test import RequestFactory

from portal.login import helseid as helseid_client
from portal.login.backend import HelseIDBackend
from portal.login.devsetup import api_resource, client_entries, delegations
from portal.login.models import Profile
from sharing import oidc
from tests.conftest import ROOT, DevIdP, IdPBrowser

pytestmark = pytest.mark.django_db(transaction=True)

SELVBETJENING_KID = "selvbetjening-2026-01"


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def private_jwk(key, kid):
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def public_part(jwk):
    return {name: jwk[name] for name in ("kty", "n", "e", "kid", "alg", "use")}


class Instance:
    """One devidp process of this module's own, on a port of its choosing."""

    def __init__(self, work: Path, keys_dir: Path, clients: list, signing_keys: list, **env: str) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.clients_file = work / "clients.json"
        self.clients_file.write_text(
            json.dumps({"clients": clients, "api_resources": [api_resource()], "delegations": delegations()})
        )
        self.keys_file = work / "signing-keys.json"
        self.keys_dir = keys_dir
        self.env = env
        self.log = work / "devidp.log"
        self.process: subprocess.Popen[str] | None = None
        self.issuer = ""
        self.start(signing_keys, port=0)

    def start(self, signing_keys: list, port: int) -> None:
        self.keys_file.write_text(json.dumps({"keys": signing_keys}))
        env = {
            **os.environ,
            "DEVIDP_PORT": str(port),
            "DEVIDP_CLIENTS_FILE": str(self.clients_file),
            "DEVIDP_KEYS_FILE": str(self.keys_file),
            **self.env,
        }
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                ["node", str(ROOT / "devidp" / "server.mjs")],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("DEVIDP_READY "), self.log.read_text()
        self.issuer = json.loads(line.removeprefix("DEVIDP_READY "))["issuer"]

    def restart(self, signing_keys: list) -> None:
        port = int(self.issuer.rsplit(":", 1)[1])
        self.stop()
        self.start(signing_keys, port=port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            assert self.process.stdout is not None
            self.process.stdout.close()
            self.process = None

    def as_devidp(self) -> DevIdP:
        assert self.process is not None
        return DevIdP(issuer=self.issuer, keys_dir=self.keys_dir, process=self.process, log=self.log)


@pytest.fixture(scope="module")
def idp_keys():
    """HelseID's signing keys (k1 signs first; k2 is the one it rotates to) and a client JWK."""
    return {"k1": private_jwk(rsa_key(), "idp-k1"), "k2": private_jwk(rsa_key(), "idp-k2")}


@pytest.fixture(scope="module")
def client_jwk():
    """The portal's key as HelseID Selvbetjening hands it out: a private JWK with its kid."""
    return private_jwk(rsa_key(), SELVBETJENING_KID)


@pytest.fixture(scope="module")
def instances(devidp, tmp_path_factory, idp_keys, client_jwk):
    """Two more devidps that sign with the same key (so only the issuer tells them apart).
    The first demands DPoP nonces and knows the portal by two keys: its PEM and a JWK."""
    work = tmp_path_factory.mktemp("devidp-more")
    clients = client_entries(keys_dir=devidp.keys_dir, portal_urls=["http://testserver"])
    portal = next(c for c in clients if c["client_id"] == "maaledata-portal")
    portal["jwks"]["keys"].append(public_part(client_jwk))
    started = {
        "strict": Instance(work / "strict", devidp.keys_dir, clients, [idp_keys["k1"]], DEVIDP_DPOP_REQUIRE_NONCE="1"),
        "other": Instance(work / "other", devidp.keys_dir, clients, [idp_keys["k1"]]),
    }
    yield started
    for instance in started.values():
        instance.stop()


def use(settings, idp):
    settings.OIDC_ISSUER = idp.issuer
    settings.OIDC_RP_PRIVATE_KEY_FILE = str(idp.keys_dir / "portal.pem")
    settings.OIDC_RP_PRIVATE_KEY = ""
    settings.OIDC_RP_PRIVATE_KEY_KID = ""
    oidc.forget_cached_metadata()
    return IdPBrowser(idp)


# --- the client key --------------------------------------------------------------------------


def test_client_key_as_a_jwk_signs_with_its_own_kid(client, settings, instances, client_jwk, oslo):
    browser = use(settings, instances["strict"].as_devidp())
    settings.OIDC_RP_PRIVATE_KEY = json.dumps(client_jwk)
    assert helseid_client.client_key().kid == SELVBETJENING_KID
    assert browser.login(client, "ingrid-berg")["Location"] == "/"
    assert Profile.objects.count() == 1


def test_client_key_with_an_unregistered_kid_is_refused(client, settings, instances, client_jwk, oslo):
    use(settings, instances["strict"].as_devidp())
    settings.OIDC_RP_PRIVATE_KEY = json.dumps(client_jwk)
    settings.OIDC_RP_PRIVATE_KEY_KID = "never-registered"
    assert client.get("/oidc/authenticate/").status_code == 503


def test_client_key_from_the_environment_as_one_line_pem(settings, devidp):
    text = (devidp.keys_dir / "portal.pem").read_text()
    settings.OIDC_RP_PRIVATE_KEY = text.strip().replace("\n", "\\n")
    settings.OIDC_RP_PRIVATE_KEY_KID = ""
    from_env = helseid_client.client_key()
    assert from_env.kid == helseid_client.public_jwk(helseid_client._load_key(text))["kid"]
    assert from_env.alg == "RS256"


def test_client_key_may_be_an_ec_key(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    settings.OIDC_RP_PRIVATE_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert helseid_client.client_key().alg == "ES256"


def test_a_public_key_is_not_a_client_key(settings, client_jwk):
    settings.OIDC_RP_PRIVATE_KEY = json.dumps(public_part(client_jwk))
    with pytest.raises(ImproperlyConfigured):
        helseid_client.client_key()


def test_missing_client_key_is_a_configuration_error(settings, tmp_path):
    settings.OIDC_RP_PRIVATE_KEY = ""
    settings.OIDC_RP_PRIVATE_KEY_FILE = str(tmp_path / "missing.pem")
    with pytest.raises(ImproperlyConfigured):
        helseid_client.client_key()


# --- ID tokens: issuer and key rotation ---------------------------------------------------------


def test_id_token_from_another_issuer_is_refused(client, settings, instances, oslo):
    other = instances["other"].as_devidp()
    use(settings, other).login(client, "ingrid-berg")
    token = client.session["oidc_id_token"]
    nonce = jwt.decode(token, options={"verify_signature": False})["nonce"]
    backend = HelseIDBackend()
    backend.request = RequestFactory().get("/")
    assert backend.verify_token(token, nonce=nonce)["sub"]  # good for the issuer that made it

    use(settings, instances["strict"].as_devidp())  # same signing key, another issuer
    with pytest.raises(SuspiciousOperation, match="issuer"):
        backend.verify_token(token, nonce=nonce)


def test_id_token_with_another_nonce_is_refused(client, settings, instances, oslo):
    use(settings, instances["other"].as_devidp()).login(client, "ingrid-berg")
    backend = HelseIDBackend()
    backend.request = RequestFactory().get("/")
    with pytest.raises(SuspiciousOperation, match="nonce"):
        backend.verify_token(client.session["oidc_id_token"], nonce="another login's nonce")


def test_helseid_rotating_its_signing_key_does_not_break_login(
    client, settings, devidp, tmp_path, idp_keys, monkeypatch, oslo
):
    clients = client_entries(keys_dir=devidp.keys_dir, portal_urls=["http://testserver"])
    idp = Instance(tmp_path / "rotating", devidp.keys_dir, clients, [idp_keys["k1"]])
    try:
        browser = use(settings, idp.as_devidp())
        browser.login(client, "ingrid-berg")
        assert jwt.get_unverified_header(client.session["oidc_id_token"])["kid"] == "idp-k1"
        client.logout()

        # HelseID now signs with k2 and still publishes k1; the portal's cached key set has only k1.
        idp.restart([idp_keys["k2"], idp_keys["k1"]])
        # PyJWT refetches a key set at most every 30 s on an unknown kid; the test cannot wait.
        monkeypatch.setattr(oidc.jwks_client(), "cooldown_duration", 0)
        browser = IdPBrowser(idp.as_devidp())
        assert browser.login(client, "ingrid-berg")["Location"] == "/"
        assert jwt.get_unverified_header(client.session["oidc_id_token"])["kid"] == "idp-k2"
    finally:
        idp.stop()


# --- DPoP ---------------------------------------------------------------------------------------


def test_login_answers_helseids_demand_for_a_dpop_nonce(client, settings, instances, oslo):
    strict = instances["strict"]
    before = len(strict.log.read_text())
    assert use(settings, strict.as_devidp()).login(client, "ingrid-berg")["Location"] == "/"
    assert "use_dpop_nonce" in strict.log.read_text()[before:]


def system_client_form(idp, client_id):
    key = helseid_client._load_key((idp.keys_dir / f"{client_id}.pem").read_text())
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "scope": settings.FHIR_SCOPE_OBSERVATION_READ,
        "resource": settings.FHIR_API_AUDIENCE,
        "client_assertion_type": helseid_client.CLIENT_ASSERTION_TYPE,
        "client_assertion": helseid_client.client_assertion(client_id=client_id, key=key, audience=idp.issuer),
    }


def test_system_client_that_must_use_dpop_is_refused_a_bearer_token(helseid):
    before = len(helseid.log.read_text())
    response = requests.post(
        f"{helseid.issuer}/connect/token", data=system_client_form(helseid, "epj-lovisenberg"), timeout=10
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "DPoP proof JWT not provided" in helseid.log.read_text()[before:]


def test_a_dpop_proof_without_the_servers_nonce_is_refused_at_the_token_endpoint(helseid):
    """devidp, as HelseID, answers the first proof with use_dpop_nonce and a DPoP-Nonce header."""
    key = ec.generate_private_key(ec.SECP256R1())
    endpoint = f"{helseid.issuer}/connect/token"
    response = requests.post(
        endpoint,
        data=system_client_form(helseid, "epj-lovisenberg"),
        headers={"DPoP": helseid_client.dpop_proof(key=key, method="POST", url=endpoint)},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "use_dpop_nonce"
    assert response.headers["DPoP-Nonce"]
    assert "access_token" not in response.json()


def test_system_client_gets_a_dpop_bound_token_for_its_dpop_key(helseid):
    key = ec.generate_private_key(ec.SECP256R1())
    endpoint = f"{helseid.issuer}/connect/token"
    response = helseid_client.post_with_dpop(
        endpoint,
        data=lambda: system_client_form(helseid, "epj-lovisenberg"),
        proof=lambda nonce: helseid_client.dpop_proof(key=key, method="POST", url=endpoint, nonce=nonce),
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert jwt.get_unverified_header(response.json()["access_token"])["typ"] == "at+jwt"
    assert claims["cnf"]["jkt"] == helseid_client.public_jwk(key)["kid"]  # RFC 7638 thumbprint of the DPoP key
    assert claims["exp"] - claims["iat"] == 600
    assert claims["helseid://claims/client/claims/orgnr_parent"] == "312222019"
    assert claims["helseid://claims/client/claims/orgnr_child"] == "312345013"
    assert claims["helseid://claims/client/amr"] == "private_key_jwt"
    assert claims["helseid://claims/client/claims/client_tenancy"] == "single-tenant"
