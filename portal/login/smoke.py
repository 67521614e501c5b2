"""`manage.py helseid_smoke`: the HelseID flows the portal and the API depend on, run against a
real issuer (HelseID's test environment, or devidp), one reported step at a time.

- Client credentials: a system client (e.g. a VKP test client registered in Selvbetjening)
  gets a DPoP-bound access token for our API (answering the DPoP nonce), and the API's own token
  checks (sharing.fhir.auth.verify_access_token) accept it: typ, audience, scope, cnf.jkt.
- User login: the portal's client, exactly as the portal logs in (PAR, PKCE S256, a client
  assertion, DPoP with nonce), then the ID token's signature, issuer, audience, nonce and security
  level. The person logs in in a browser (the URL is printed; paste back the address the browser
  ended at), or, against devidp, non-interactively as a named test person.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sharing import oidc
from sharing.fhir.auth import bound_key, verify_access_token

from . import helseid

CLAIM_CLIENT_AMR = "helseid://claims/client/amr"


class StepFailed(Exception):
    pass


@dataclass
class Report:
    """Each step's outcome, written as it happens."""

    write: Callable[[str], None]
    failed: list[str] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[dict[str, Any]]:
        details: dict[str, Any] = {}
        try:
            yield details
        except (
            StepFailed,
            helseid.PushedAuthorizationFailed,
            ImproperlyConfigured,
            requests.RequestException,
            jwt.PyJWTError,
            KeyError,
            ValueError,
        ) as exc:
            self.failed.append(name)
            self.write(f"[FAIL] {name}: {type(exc).__name__}: {exc}")
            raise StepFailed(name) from exc
        shown = "; ".join(f"{key} {value}" for key, value in details.items())
        self.write(f"[ ok ] {name}" + (f": {shown}" if shown else ""))


def _expect(response: requests.Response, *statuses: int) -> dict[str, Any]:
    if response.status_code not in statuses:
        raise StepFailed(f"HTTP {response.status_code}: {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


def discovery(report: Report) -> dict[str, Any]:
    with report.step("discovery") as out:
        document = oidc.discovery()
        out["issuer"] = document["issuer"]
        out["PAR"] = document.get("pushed_authorization_request_endpoint", "missing")
        out["DPoP algs"] = ",".join(document.get("dpop_signing_alg_values_supported", [])) or "none"
    with report.step("JWKS") as out:
        keys = requests.get(document["jwks_uri"], timeout=settings.OIDC_TIMEOUT, verify=settings.OIDC_VERIFY_SSL)
        out["keys"] = ",".join(str(k.get("kid")) for k in _expect(keys, 200)["keys"])
    return document


def client_credentials(report: Report, *, client_id: str, key_text: str, scope: str, resource: str) -> str:
    """A DPoP-bound token for our API from client credentials, checked as the API checks it."""
    document = oidc.discovery()
    endpoint = document["token_endpoint"]
    client_key = helseid.load_client_key(key_text)
    dpop_key = ec.generate_private_key(ec.SECP256R1())
    asked_nonce: list[bool] = []

    def form() -> dict[str, str]:
        assertion = helseid.client_assertion(
            client_id=client_id, key=client_key.key, kid=client_key.kid, alg=client_key.alg, audience=document["issuer"]
        )
        return {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "scope": scope,
            "resource": resource,
            "client_assertion_type": helseid.CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
        }

    def proof(nonce: str) -> str:
        asked_nonce.append(bool(nonce))
        return helseid.dpop_proof(key=dpop_key, method="POST", url=endpoint, nonce=nonce)

    with report.step(f"client credentials ({client_id})") as out:
        body = _expect(helseid.post_with_dpop(endpoint, data=form, proof=proof), 200)
        out["token_type"] = body.get("token_type")
        out["expires_in"] = body.get("expires_in")
        out["DPoP nonce demanded"] = "yes" if any(asked_nonce) else "no"
        token = str(body["access_token"])
    _check_access_token(report, token, scope=scope, dpop_key=dpop_key)
    return token


def _check_access_token(report: Report, token: str, *, scope: str, dpop_key: ec.EllipticCurvePrivateKey) -> None:
    with report.step("access token passes the API's checks") as out:
        claims = verify_access_token(token)  # typ at+jwt, signature, iss, our audience alone, exp/nbf
        out["typ"] = jwt.get_unverified_header(token).get("typ")
        out["aud"] = claims["aud"]
        out["scope"] = claims.get("scope")
        out["lifetime"] = f"{claims['exp'] - claims['iat']} s"
        out["client_amr"] = claims.get(CLAIM_CLIENT_AMR, "absent")
        if scope not in str(claims.get("scope", "")).split():
            raise StepFailed(f"the token lacks the scope {scope}")
        if bound_key(claims) != helseid.public_jwk(dpop_key)["kid"]:
            raise StepFailed("the token is not bound (cnf.jkt) to the DPoP key that asked for it")
        out["cnf.jkt"] = "matches the DPoP key"


@dataclass
class Login:
    """What one authorization request keeps until its answer."""

    state: str
    nonce: str
    verifier: str
    authorize_url: str


def start_login(report: Report, *, redirect_uri: str) -> Login:
    document = oidc.discovery()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    params = {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "response_type": "code",
        "scope": settings.OIDC_RP_SCOPES,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": state,
        "nonce": nonce,
        "prompt": "login",
    }
    if settings.OIDC_ACR_VALUES:
        params["acr_values"] = settings.OIDC_ACR_VALUES
    with report.step(f"pushed authorization request ({settings.OIDC_RP_CLIENT_ID})") as out:
        request_uri = helseid.push_authorization_request(params)
        out["request_uri"] = request_uri[:48] + ("…" if len(request_uri) > 48 else "")
    query = urlencode({"client_id": settings.OIDC_RP_CLIENT_ID, "request_uri": request_uri})
    return Login(state, nonce, verifier, f"{document['authorization_endpoint']}?{query}")


def log_in_at_devidp(login: Login, *, person: str, redirect_uri: str) -> str:
    """devidp only: choose `person` on its test-person page; returns the redirect back to us."""
    browser = requests.Session()
    page = browser.get(login.authorize_url, timeout=settings.OIDC_TIMEOUT)
    if "/interaction/" not in page.url:
        raise StepFailed(f"no devidp test-person page at {page.url} (is the issuer devidp?)")
    uid = urlsplit(page.url).path.rstrip("/").split("/")[-1]
    response = browser.post(
        urljoin(page.url, f"/interaction/{uid}/login"), data={"person": person}, allow_redirects=False, timeout=10
    )
    url = page.url
    for _ in range(10):
        url = urljoin(url, response.headers.get("Location", ""))
        if url.startswith(redirect_uri):
            return url
        if response.status_code not in (302, 303):
            raise StepFailed(f"devidp answered {response.status_code} for person {person!r}: {response.text[:200]}")
        response = browser.get(url, allow_redirects=False, timeout=10)
    raise StepFailed("too many redirects at devidp")


def finish_login(report: Report, login: Login, *, redirected_to: str, redirect_uri: str) -> dict[str, Any]:
    document = oidc.discovery()
    with report.step("authorization response") as out:
        answer = dict(parse_qsl(urlsplit(redirected_to.strip()).query))
        if answer.get("error"):
            raise StepFailed(f"{answer['error']}: {answer.get('error_description', '')}")
        if answer.get("state") != login.state:
            raise StepFailed("state does not match the request")
        if "iss" in answer and answer["iss"] != document["issuer"]:
            raise StepFailed(f"iss {answer['iss']!r} is not the issuer")
        out["code"] = "received"
        out["iss"] = answer.get("iss", "absent")
    with report.step("code exchange (private_key_jwt, PKCE, DPoP)") as out:
        form = {
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": login.verifier,
        }
        body = _expect(helseid.token_request(form), 200)
        out["token_type"] = body.get("token_type")
        id_token = str(body["id_token"])
    with report.step("ID token") as out:
        key = oidc.jwks_client().get_signing_key_from_jwt(id_token)
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key.key,
            algorithms=["RS256", "PS256", "ES256"],
            audience=settings.OIDC_RP_CLIENT_ID,
            issuer=document["issuer"],
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            leeway=30,
        )
        if claims.get("nonce") != login.nonce:
            raise StepFailed("nonce does not match the request")
        level = str(claims.get(helseid.CLAIM_SECURITY_LEVEL, ""))
        out["name"] = claims.get("name", "")
        out["security_level"] = level or "absent"
        out["pid"] = "present" if claims.get(helseid.CLAIM_PID) else "absent"
        out["hpr_number"] = "present" if claims.get(helseid.CLAIM_HPR_NUMBER) else "absent"
        out["sid"] = "present" if claims.get("sid") else "absent"
        out["age"] = f"{int(time.time()) - int(claims.get('auth_time', claims['iat']))} s"
        if level != settings.OIDC_REQUIRED_SECURITY_LEVEL:
            raise StepFailed(f"security level {level!r}; the portal requires {settings.OIDC_REQUIRED_SECURITY_LEVEL}")
    return claims


def read_key(path: str) -> str:
    return Path(path).read_text()
