"""Login through devidp over real HTTP: PAR, PKCE, private_key_jwt, level 4 — no mocked backend."""

import pytest
from django.contrib.auth import get_user_model

from portal.login.models import Profile
from sharing.audit.models import AuditEvent
from tests.conftest import idp_login

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_as_lovisenberg_physician_stores_helseid_claims(client, helseid, oslo):
    response = idp_login(client, helseid, "ingrid-berg")
    assert response.status_code == 302
    assert response["Location"] == "/"
    profile = Profile.objects.get()
    assert (profile.pid, profile.hpr_number, profile.name) == ("12837826592", "565501872", "Ingrid Berg")
    assert (profile.security_level, profile.orgnr_parent, profile.orgnr_child) == ("4", "312222019", "312345013")
    assert client.get("/").status_code == 200
    login = AuditEvent.objects.get(event="user.login")
    assert (login.actor_hpr, login.org_parent_name) == ("565501872", "Lovisenberg Diakonale Sykehus")


def test_second_login_matches_the_same_user_on_sub(client, helseid, oslo):
    idp_login(client, helseid, "ingrid-berg")
    client.logout()
    idp_login(client, helseid, "ingrid-berg")
    assert get_user_model().objects.count() == 1


def test_login_at_security_level_3_is_refused_with_a_clear_page(client, helseid, oslo):
    response = idp_login(client, helseid, "emil-vik")
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 403
    assert "sikkerhetsnivå 3" in page.content.decode()
    assert client.get("/").status_code == 302  # still not logged in


def test_pages_need_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/innlogging/")


def test_login_page_is_public(client):
    response = client.get("/innlogging/")
    assert response.status_code == 200
    assert "HelseID" in response.content.decode()


def test_callback_with_a_foreign_issuer_is_refused(client, helseid, oslo):
    client.get("/oidc/authenticate/")
    state = next(iter(client.session["oidc_states"]))
    response = client.get("/oidc/callback/", {"code": "x", "state": state, "iss": "https://evil.example"})
    assert response.status_code == 302
    assert response["Location"] == "/innlogging/avvist/"
    assert Profile.objects.count() == 0


def test_logout_ends_the_local_session_and_goes_to_the_idp(client, helseid, oslo):
    idp_login(client, helseid, "ingrid-berg")
    response = client.post("/utlogging/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{helseid.issuer}/connect/endsession")
    assert "id_token_hint=" in response["Location"]
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(event="user.logout").count() == 1
