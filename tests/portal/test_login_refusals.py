"""What HelseID's rules refuse, checked against devidp over real HTTP: no PKCE, no PAR, a replayed
code, a wrong state, a client assertion signed with the wrong key, a foreign issuer."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from portal.login import helseid as helseid_client
from portal.login.models import Profile
from sharing.audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "http://testserver/oidc/callback/"


def par_params(**overrides):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": "maaledata-portal",
        "redirect_uri": CALLBACK,
        "scope": "openid profile",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


def push(idp, params):
    return requests.post(
        f"{idp.issuer}/connect/par", data={**params, **helseid_client.client_auth_params()}, timeout=10
    )


def refusal_page(client, response):
    assert response.status_code == 302
    assert response["Location"] == "/innlogging/avvist/"
    page = client.get(response["Location"])
    assert page.status_code == 403
    return page.content.decode()


# --- devidp holds the portal's client to HelseID's rules ----------------------------------


def test_devidp_accepts_a_pushed_request_with_pkce_s256(helseid, db):
    response = push(helseid, par_params())
    assert response.status_code == 201, response.text
    assert response.json()["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")


def test_devidp_refuses_a_pushed_request_without_pkce(helseid, db):
    response = push(helseid, par_params(code_challenge=None, code_challenge_method=None))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "PKCE" in response.json()["error_description"]


def test_devidp_refuses_plain_pkce(helseid, db):
    response = push(helseid, par_params(code_challenge="x" * 43, code_challenge_method="plain"))
    assert response.status_code == 400


def test_devidp_refuses_the_portal_client_without_par(helseid, db):
    query = urlencode(par_params())
    response = requests.get(f"{helseid.issuer}/connect/authorize?{query}", allow_redirects=False, timeout=10)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(CALLBACK)  # back to the client with an error, never to the login page
    assert dict(parse_qsl(urlsplit(location).query))["error"] == "invalid_request"
    assert "Pushed Authorization Request" in dict(parse_qsl(urlsplit(location).query))["error_description"]


def test_devidp_refuses_a_pushed_request_without_client_authentication(helseid, db):
    response = requests.post(f"{helseid.issuer}/connect/par", data=par_params(), timeout=10)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


def test_devidp_refuses_a_client_assertion_living_longer_than_60_seconds(helseid, db, monkeypatch):
    monkeypatch.setattr(helseid_client, "ASSERTION_LIFETIME_SECONDS", 600)
    response = push(helseid, par_params())
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


def test_devidp_refuses_a_code_exchange_without_the_code_verifier(client, helseid, idp_browser, oslo):
    callback = idp_browser.choose(idp_browser.start(client), "ingrid-berg")
    code = dict(parse_qsl(urlsplit(callback).query))["code"]
    response = helseid_client.token_request(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_devidp_refuses_a_code_exchange_without_dpop_for_the_portal(client, helseid, idp_browser, oslo, settings):
    settings.OIDC_USE_DPOP = False
    response = idp_browser.login(client, "ingrid-berg")
    assert "kunne ikke fullføres" in refusal_page(client, response)
    assert Profile.objects.count() == 0


# --- the portal refuses what does not belong to its own login ----------------------------


def test_portal_sends_pkce_s256_nonce_state_and_acr_through_par(client, helseid, idp_browser, oslo):
    page = idp_browser.start(client)
    assert "/interaction/" in page  # devidp accepted the pushed request and shows the login page
    ((state, pending),) = client.session["oidc_states"].items()
    assert len(state) >= 32 and len(pending["nonce"]) >= 32 and len(pending["code_verifier"]) >= 43


def test_replayed_code_is_refused(client, helseid, idp_browser, oslo):
    """Even someone who holds the code, the state's nonce and the PKCE verifier gets nothing once
    the portal has used the code."""
    page = idp_browser.start(client)
    (pending,) = client.session["oidc_states"].values()
    callback = idp_browser.choose(page, "ingrid-berg")
    assert idp_browser.callback(client, callback)["Location"] == "/"
    code = dict(parse_qsl(urlsplit(callback).query))["code"]
    log_before = len(helseid.log.read_text())

    attacker = Client()
    attacker.get("/oidc/authenticate/")
    session = attacker.session
    (state,) = session["oidc_states"]
    session["oidc_states"][state].update(nonce=pending["nonce"], code_verifier=pending["code_verifier"])
    session.save()
    response = attacker.get("/oidc/callback/", {"code": code, "state": state, "iss": helseid.issuer})
    refusal_page(attacker, response)
    assert attacker.get("/").status_code == 302
    assert "authorization code already consumed" in helseid.log.read_text()[log_before:]


def test_replayed_callback_is_refused_because_its_state_is_used_up(client, helseid, idp_browser, oslo):
    callback = idp_browser.choose(idp_browser.start(client), "ingrid-berg")
    idp_browser.callback(client, callback)
    client.logout()
    response = idp_browser.callback(client, callback)
    assert "ikke til en innlogging" in refusal_page(client, response)
    assert client.get("/").status_code == 302


def test_wrong_state_is_refused(client, helseid, idp_browser, oslo):
    callback = idp_browser.choose(idp_browser.start(client), "ingrid-berg")
    params = dict(parse_qsl(urlsplit(callback).query))
    response = client.get("/oidc/callback/", {**params, "state": params["state"] + "x"})
    refusal_page(client, response)
    assert Profile.objects.count() == 0
    assert not AuditEvent.objects.filter(event="user.login").exists()


def test_callback_without_a_login_started_here_is_refused(client, helseid, oslo):
    response = client.get("/oidc/callback/", {"code": "x", "state": "y", "iss": helseid.issuer})
    refusal_page(client, response)


def test_callback_with_a_foreign_issuer_is_refused(client, helseid, oslo):
    client.get("/oidc/authenticate/")
    state = next(iter(client.session["oidc_states"]))
    response = client.get("/oidc/callback/", {"code": "x", "state": state, "iss": "https://evil.example"})
    refusal_page(client, response)
    assert Profile.objects.count() == 0


def test_callback_without_iss_is_refused_when_the_issuer_sends_it(client, helseid, idp_browser, oslo):
    callback = idp_browser.choose(idp_browser.start(client), "ingrid-berg")
    params = dict(parse_qsl(urlsplit(callback).query))
    assert params.pop("iss") == helseid.issuer
    refusal_page(client, client.get("/oidc/callback/", params))
    assert Profile.objects.count() == 0


def test_cancelled_login_says_so(client, helseid, idp_browser, oslo):
    page = idp_browser.start(client)
    uid = urlsplit(page).path.rstrip("/").split("/")[-1]
    response = idp_browser.http.post(f"{helseid.issuer}/interaction/{uid}/abort", allow_redirects=False, timeout=10)
    callback = idp_browser.follow(page, response)
    assert "error=access_denied" in callback
    assert "avbrutt" in refusal_page(client, idp_browser.callback(client, callback))


def test_client_assertion_signed_with_the_wrong_key_is_refused(client, helseid, oslo, settings):
    wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.OIDC_RP_PRIVATE_KEY = wrong.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    log_before = len(helseid.log.read_text())
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 503  # the portal cannot log anyone in: its PAR was refused
    assert "invalid_client" in helseid.log.read_text()[log_before:]
    # The registered kid with the wrong key's signature is refused too.
    settings.OIDC_RP_PRIVATE_KEY_KID = helseid_client.public_jwk(
        helseid_client._load_key((helseid.keys_dir / "portal.pem").read_text())
    )["kid"]
    refused = push(helseid, par_params())
    assert refused.status_code in (400, 401)
    assert refused.json()["error"] == "invalid_client"
