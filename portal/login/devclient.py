"""How a hospital EPJ gets a DPoP-bound user token from devidp, and signs DPoP proofs.

Development and test tooling only (tests and benchmarks act as the EPJ with it); the portal
itself never runs this code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess  # noqa: S404 - starts the local devidp for tests and benchmarks
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from portal.login.devsetup import EPJ_REDIRECT, USER_SCOPES
from portal.login.helseid import CLIENT_ASSERTION_TYPE, _load_key, client_assertion, post_with_dpop
from sharing.fhir.dpop import access_token_hash


class DpopKey:
    """The EPJ's DPoP key: signs a fresh proof for each call."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)

    def proof(self, method: str, url: str, token: str | None = None, **overrides: Any) -> str:
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method.upper(),
            "htu": url.split("?")[0],
            "iat": int(time.time()),
        }
        if token:
            claims["ath"] = access_token_hash(token)
        claims.update(overrides)
        if not claims.get("nonce"):
            claims.pop("nonce", None)
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.jwk})


class DpopAuth(requests.auth.AuthBase):
    """requests auth that sends `Authorization: DPoP <token>` and a fresh proof, for fhirpy."""

    def __init__(self, token: str, key: DpopKey, basis: str = "care", reason: str = "Innlagt") -> None:
        self.token, self.key, self.basis, self.reason = token, key, basis, reason

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"DPoP {self.token}"
        request.headers["DPoP"] = self.key.proof(request.method or "GET", request.url or "", self.token)
        request.headers["X-Access-Basis"] = self.basis
        request.headers["X-Access-Reason"] = self.reason
        return request


def _assertion(idp: Any, client_id: str) -> dict[str, str]:
    key = _load_key((idp.keys_dir / f"{client_id}.pem").read_text())
    return {
        "client_id": client_id,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion(client_id=client_id, key=key, audience=idp.issuer),
    }


def epj_user_token(idp: Any, person: str, key: DpopKey | None, client_id: str = "epj-lovisenberg") -> str:
    """Log `person` in at devidp through the EPJ client (PAR, PKCE) and get an API token: DPoP-bound
    to `key` (answering devidp's demand for a nonce), or unbound with no key (a client that is
    not registered for DPoP)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    par = requests.post(
        f"{idp.issuer}/connect/par",
        data={
            "response_type": "code",
            "scope": f"{USER_SCOPES} {settings.FHIR_SCOPE_OBSERVATION_READ}",
            "redirect_uri": EPJ_REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "resource": settings.FHIR_API_AUDIENCE,
            **_assertion(idp, client_id),
        },
        timeout=10,
    )
    if par.status_code not in (200, 201):
        raise RuntimeError(f"devidp refused the pushed authorization request: {par.text}")
    browser = requests.Session()
    url = f"{idp.issuer}/connect/authorize?client_id={client_id}&request_uri={par.json()['request_uri']}"
    response = browser.get(url, allow_redirects=True, timeout=10)
    uid = urlsplit(response.url).path.rstrip("/").split("/")[-1]
    response = browser.post(f"{idp.issuer}/interaction/{uid}/login", data={"person": person}, allow_redirects=False)
    location = ""
    for _ in range(10):
        location = urljoin(response.url, response.headers.get("Location", ""))
        if location.startswith(EPJ_REDIRECT):
            break
        response = browser.get(location, allow_redirects=False, timeout=10)
    code = dict(parse_qsl(urlsplit(location).query))["code"]
    token_url = f"{idp.issuer}/connect/token"

    def form() -> dict[str, str]:
        return {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": EPJ_REDIRECT,
            "code_verifier": verifier,
            "resource": settings.FHIR_API_AUDIENCE,
            **_assertion(idp, client_id),
        }

    if key is None:
        token = requests.post(token_url, data=form(), timeout=10)
    else:
        token = post_with_dpop(token_url, data=form, proof=lambda nonce: key.proof("POST", token_url, nonce=nonce))
    expected = "dpop" if key is not None else "bearer"
    if token.status_code != 200 or token.json().get("token_type", "").lower() != expected:
        raise RuntimeError(f"devidp gave no {expected} token: {token.text}")
    return str(token.json()["access_token"])


@contextmanager
def run_devidp(
    *, clients_file: Path, log: Path, root: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start devidp on a free loopback port with these clients (and `env`: DEVIDP_* settings);
    yields (issuer, process)."""
    with log.open("w") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own devidp, from the repository
            ["node", str(root / "devidp" / "server.mjs")],  # noqa: S607 - node from PATH, as npm runs it
            cwd=root,
            env={**os.environ, **(env or {}), "DEVIDP_PORT": "0", "DEVIDP_CLIENTS_FILE": str(clients_file)},
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
        try:
            line = process.stdout.readline() if process.stdout else ""
            if not line.startswith("DEVIDP_READY "):
                raise RuntimeError(f"devidp did not start: {line!r}\n{log.read_text()}")
            yield json.loads(line.removeprefix("DEVIDP_READY "))["issuer"], process
        finally:
            process.terminate()
            process.wait(timeout=10)
            if process.stdout:
                process.stdout.close()
