"""Client assertions (private_key_jwt) as HelseID wants them, on both sides: ours carry
typ client-authentication+jwt, live 20 s and are signed with the key's own algorithm; devidp, as
HelseID, accepts one only with aud = the issuer alone, within exp (a few seconds' grace), once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.login import helseid
from tests.conftest import ROOT, DevIdP


def form(idp: DevIdP, assertion: str, client_id: str = "vkp-oslo") -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "scope": settings.FHIR_SCOPE_OBSERVATION_WRITE,
        "resource": settings.FHIR_API_AUDIENCE,
        "client_assertion_type": helseid.CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
    }


def assertion(idp: DevIdP, client_id: str = "vkp-oslo", **changes: Any) -> str:
    key = helseid._load_key((idp.keys_dir / f"{client_id}.pem").read_text())
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": idp.issuer, "iat": now, "nbf": now, "exp": now + 20}
    claims["jti"] = str(uuid.uuid4())
    claims.update(changes)
    kid = helseid.public_jwk(key)["kid"]
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": helseid.ASSERTION_JWT_TYPE})


def token(idp: DevIdP, signed: str) -> requests.Response:
    return requests.post(f"{idp.issuer}/connect/token", data=form(idp, signed), timeout=10)


def test_a_fresh_assertion_is_accepted(helseid_idp):
    assert token(helseid_idp, assertion(helseid_idp)).status_code == 200


def test_an_expired_client_assertion_is_refused(helseid_idp):
    now = int(time.time())
    # Ten seconds past exp: inside devidp's old 15 s grace, outside HelseID's few seconds.
    response = token(helseid_idp, assertion(helseid_idp, iat=now - 30, nbf=now - 30, exp=now - 10))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_an_assertion_living_longer_than_60_seconds_is_refused(helseid_idp):
    response = token(helseid_idp, assertion(helseid_idp, exp=int(time.time()) + 120))
    assert response.status_code == 401


@pytest.mark.parametrize("audience", ["token endpoint", "two audiences"])
def test_an_assertion_for_any_audience_but_the_issuer_alone_is_refused(helseid_idp, audience):
    endpoint = f"{helseid_idp.issuer}/connect/token"
    aud: Any = endpoint if audience == "token endpoint" else [helseid_idp.issuer, endpoint]
    before = len(helseid_idp.log.read_text())
    response = token(helseid_idp, assertion(helseid_idp, aud=aud))
    assert response.status_code == 401
    assert "aud must be the issuer" in helseid_idp.log.read_text()[before:]


def test_a_reused_assertion_is_refused(helseid_idp):
    signed = assertion(helseid_idp)
    assert token(helseid_idp, signed).status_code == 200
    assert token(helseid_idp, signed).status_code == 401


def test_our_assertion_has_helseids_type_a_short_life_and_the_issuer_as_audience(helseid_idp):
    key = helseid._load_key((helseid_idp.keys_dir / "vkp-oslo.pem").read_text())
    signed = helseid.client_assertion(client_id="vkp-oslo", key=key, audience=helseid_idp.issuer)
    header = jwt.get_unverified_header(signed)
    claims = jwt.decode(signed, options={"verify_signature": False})
    assert header["typ"] == "client-authentication+jwt"
    assert header["alg"] == "RS256"
    assert 0 < claims["exp"] - claims["iat"] <= 30
    assert claims["aud"] == helseid_idp.issuer
    assert claims["iss"] == claims["sub"] == "vkp-oslo"
    assert token(helseid_idp, signed).status_code == 200


@pytest.mark.parametrize("alg", ["PS256", "RS256"])
def test_an_rsa_jwk_signs_with_its_own_algorithm(alg):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key)), "kid": "k1", "alg": alg}
    loaded = helseid.load_client_key(json.dumps(jwk))
    signed = helseid.client_assertion(client_id="c", key=loaded.key, audience="https://idp", kid="k1", alg=loaded.alg)
    assert jwt.get_unverified_header(signed)["alg"] == alg
    jwt.decode(signed, key.public_key(), algorithms=[alg], audience="https://idp")


def test_an_ec_key_signs_with_es256_by_its_curve():
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))
    loaded = helseid.load_client_key(json.dumps(jwk))
    assert loaded.alg == "ES256"


def test_a_jwk_whose_alg_does_not_fit_the_key_is_refused():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key)), "alg": "HS256"}
    with pytest.raises(ImproperlyConfigured):
        helseid.load_client_key(json.dumps(jwk))


def test_production_refuses_to_start_with_tls_checks_against_the_idp_turned_off():
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/none",
        "OIDC_ISSUER": "https://helseid-sts.test.nhn.no",
        "AUDIT_CHAIN_KEY": "k" * 32,
        "SERVICE_OPERATOR_ORGNR": "316666019",
        "ALLOWED_HOSTS": "maaledata.example",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    code = "import django; django.setup()"
    ok = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    off = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "OIDC_VERIFY_SSL": "false"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert off.returncode != 0
    assert "OIDC_VERIFY_SSL cannot be turned off in production" in off.stderr


@pytest.fixture
def helseid_idp(helseid: DevIdP) -> DevIdP:
    return helseid
