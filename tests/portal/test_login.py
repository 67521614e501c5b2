"""Login through devidp over real HTTP: PAR, PKCE, private_key_jwt, DPoP, level 4 — no mocked backend."""

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from portal.login.acting import actor_for
from portal.login.models import Profile
from sharing.audit.models import AuditEvent
from sharing.core.actor import Role
from tests.conftest import idp_login

pytestmark = pytest.mark.django_db(transaction=True)


def actor_of(client, user):
    """The Actor the portal would build for this client's session."""
    request = RequestFactory().get("/")
    request.user = user
    request.session = client.session
    return actor_for(request)


def test_login_as_lovisenberg_physician_stores_helseid_claims(client, helseid, oslo):
    response = idp_login(client, helseid, "ingrid-berg")
    assert response.status_code == 302
    assert response["Location"] == "/"
    profile = Profile.objects.get()
    assert profile.sub == "VfSouPmsGWDFnSeF7PbRz7qm__XLxBd73fnyjH3Xiyc"
    assert (profile.pid, profile.hpr_number, profile.name) == ("12837826592", "565501872", "Ingrid Berg")
    assert (profile.security_level, profile.orgnr_parent, profile.orgnr_child) == ("4", "312222019", "312345013")
    assert client.get("/").status_code == 200
    assert profile.hpr_details["approvals"][0]["profession"] == "LE"  # from userinfo
    # The login names no organisation (HelseID does not know where Ingrid works); her one
    # membership is then asked for, and HelseID's answer is in the next record.
    login = AuditEvent.objects.get(event="user.login")
    assert (login.outcome, login.actor_hpr, login.org_parent) == ("success", "565501872", "")
    chosen = AuditEvent.objects.get(event="user.unit.chosen")
    assert (chosen.org_parent, chosen.org_parent_name) == ("312222019", "Lovisenberg Diakonale Sykehus")
    assert (chosen.org_child, chosen.org_child_name) == ("312345013", "Lovisenberg, medisinsk klinikk")
    assert chosen.data == {"from": ":", "to": "312222019:312345013"}
    assert Role.CLINICIAN in actor_of(client, profile.user).roles


def test_login_keeps_the_next_page(client, helseid, oslo):
    response = client.get("/?q=1")
    assert response["Location"] == "/innlogging/?next=/%3Fq%3D1"
    start = client.get("/oidc/authenticate/", {"next": "/?q=1"})
    assert start.status_code == 302
    assert client.session["oidc_login_next"] == "/?q=1"


def test_login_does_not_follow_a_next_page_elsewhere(client, helseid, oslo):
    client.get("/oidc/authenticate/", {"next": "https://evil.example/"})
    assert client.session["oidc_login_next"] is None


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


def test_level_4_person_logging_in_at_level_3_is_refused_and_the_refusal_is_audited(client, helseid, oslo):
    response = idp_login(client, helseid, "ingrid-berg", security_level="3")
    assert client.get(response["Location"]).status_code == 403
    assert get_user_model().objects.count() == 0
    refused = AuditEvent.objects.get(event="user.login")
    assert (refused.outcome, refused.actor_name, refused.data["security_level"]) == ("refused", "Ingrid Berg", "3")


def test_nurse_without_hpr_number_gets_no_clinician_role(client, helseid, oslo):
    idp_login(client, helseid, "nina-lund")
    profile = Profile.objects.get()
    assert (profile.name, profile.hpr_number, profile.security_level) == ("Nina Lund", "", "4")
    assert Role.CLINICIAN not in actor_of(client, profile.user).roles


def test_physician_whose_hpr_number_is_left_out_gets_no_clinician_role(client, helseid, oslo):
    idp_login(client, helseid, "ingrid-berg", no_hpr="1")
    profile = Profile.objects.get()
    assert profile.hpr_number == ""
    assert Role.CLINICIAN not in actor_of(client, profile.user).roles


def test_a_later_login_with_hpr_number_restores_the_role(client, helseid, oslo):
    idp_login(client, helseid, "ingrid-berg", no_hpr="1")
    client.logout()
    idp_login(client, helseid, "ingrid-berg")
    profile = Profile.objects.get()
    assert Role.CLINICIAN in actor_of(client, profile.user).roles


def test_pages_need_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/innlogging/")


def test_login_page_is_public(client):
    response = client.get("/innlogging/")
    assert response.status_code == 200
    assert "HelseID" in response.content.decode()


def test_login_is_unavailable_when_helseid_cannot_be_reached(client, settings, db):
    from sharing import oidc

    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # discard port: nothing listens
    oidc.forget_cached_metadata()
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 503
    assert "HelseID" in response.content.decode()


def test_session_cookie_is_httponly_and_samesite_lax(client, helseid, oslo):
    idp_login(client, helseid, "ingrid-berg")
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] is True
    # Lax, not Strict: HelseID's redirect back to the callback is a cross-site navigation.
    assert cookie["samesite"] == "Lax"
