"""OIDC back-channel logout against devidp over real HTTP: a logout at the IdP (as in the hospital
record that shares the HelseID session) ends the portal session of that login, by its `sid`."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.sessions.models import Session

from portal.login.logout import BACKCHANNEL_LOGOUT_EVENT
from portal.login.models import LoginSession
from sharing.audit.models import AuditEvent
from tests.conftest import Client

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_logout_at_devidp_ends_the_portal_session(client, idp_browser, oslo):
    assert idp_browser.login(client, "ingrid-berg")["Location"] == "/"
    assert client.get("/").status_code == 200
    login = LoginSession.objects.get()
    assert jwt.decode(client.session["oidc_id_token"], options={"verify_signature": False})["sid"] == login.sid

    # The person logs out at devidp (no id_token_hint: another system's logout, not the portal's).
    idp_browser.confirm_logout(f"{idp_browser.idp.issuer}/connect/endsession")

    assert "backchannel.error" not in idp_browser.idp.log.read_text()
    assert not Session.objects.filter(session_key=login.session_key).exists()
    assert not LoginSession.objects.exists()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/innlogging/")
    event = AuditEvent.objects.filter(event="user.logout").get()
    assert event.data == {"channel": "backchannel", "sid": login.sid}
    assert event.actor_name == "Ingrid Berg"


def test_a_logout_ends_only_the_sessions_of_that_login(client, idp_browser, oslo, helseid):
    """Another person's session (another devidp login session) is untouched."""
    from tests.conftest import IdPBrowser

    assert idp_browser.login(client, "ingrid-berg")["Location"] == "/"
    other, other_browser = Client(), IdPBrowser(helseid)
    assert other_browser.login(other, "ola-hansen")["Location"] == "/"

    idp_browser.confirm_logout(f"{helseid.issuer}/connect/endsession")

    assert client.get("/").status_code == 302
    assert other.get("/").status_code == 200


def _post(client, token: str):
    return client.post("/oidc/backchannel-logout/", {"logout_token": token})


def test_a_forged_or_malformed_logout_token_is_refused_and_ends_nothing(client, idp_browser, oslo):
    assert idp_browser.login(client, "ingrid-berg")["Location"] == "/"
    login = LoginSession.objects.get()
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {
        "iss": idp_browser.idp.issuer,
        "aud": settings.OIDC_RP_CLIENT_ID,
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "sid": login.sid,
        "sub": login.sub,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    kid = jwt.get_unverified_header(client.session["oidc_id_token"])["kid"]
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": kid, "typ": "logout+jwt"})
    outsider = Client()
    for token in (forged, "", "not-a-jwt"):
        response = _post(outsider, token)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
    assert client.get("/").status_code == 200
    assert LoginSession.objects.filter(pk=login.pk).exists()
