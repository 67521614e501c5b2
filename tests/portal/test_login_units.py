"""The organisation and unit a person acts for: only their own memberships, asserted by HelseID.

HelseID does not know where a person works. After the login the person chooses among the
memberships their organisation's admin registered; the portal asks devidp (over real HTTP) for
that organisation with a refresh_token grant whose client assertion carries authorization_details,
and acts for what devidp asserts. Anything else is refused and logged.
"""

import datetime as dt
import json
import re

import pytest
import requests
from django.test import RequestFactory
from django.utils import timezone

from devdata import demo
from portal.login import helseid as portal_helseid
from portal.login.acting import actor_for
from portal.login.backend import REFRESH_TOKEN_SESSION_KEY
from portal.login.models import Profile
from sharing import oidc
from sharing.access.members import add_member
from sharing.agreements.actions import register_organisation
from sharing.agreements.models import Organisation
from sharing.audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

CARDIOLOGY = "312345021"
FJORDVIK_WARD = "314444108"


def acting(client):
    request = RequestFactory().get("/")
    request.user = Profile.objects.get().user
    request.session = client.session
    return actor_for(request)


def logins(idp_browser):
    return sum(1 for line in idp_browser.idp.log.read_text().splitlines() if "POST /interaction/" in line)


@pytest.fixture
def marte(oslo):
    """Marte Eik is registered at Lovisenberg (medisinsk klinikk) and at Sagene legesenter."""
    return oslo


def test_person_with_two_memberships_chooses_and_switches_without_a_new_login(client, idp_browser, marte):
    response = idp_browser.login(client, "marte-eik")
    assert response["Location"] == "/innlogging/enhet/?next=%2F"
    page = client.get(response["Location"]).content.decode()
    assert "Lovisenberg Diakonale Sykehus, Lovisenberg, medisinsk klinikk (312222019 / 312345013)" in page
    assert "Sagene legesenter (313333019)" in page
    assert acting(client).orgnr_parent == ""  # nothing until HelseID asserts one

    response = client.post("/innlogging/enhet/", {"membership": "312222019:312345013", "next": "/"})
    assert response["Location"] == "/"
    actor = acting(client)
    assert (actor.orgnr_parent, actor.orgnr_child) == ("312222019", "312345013")
    before = logins(idp_browser)

    response = client.post("/innlogging/enhet/", {"membership": "313333019:", "next": "/"})
    assert response["Location"] == "/"
    actor = acting(client)
    assert (actor.orgnr_parent, actor.orgnr_child, actor.org_parent_name) == ("313333019", "", "Sagene legesenter")
    assert logins(idp_browser) == before  # no new login at HelseID
    chosen = list(AuditEvent.objects.filter(event="user.unit.chosen").order_by("id").values_list("data", flat=True))
    assert chosen[-1] == {"from": "312222019:312345013", "to": "313333019:"}
    page = client.get("/").content.decode()
    assert "Bytt enhet" in page


def test_person_with_no_membership_is_told_whom_to_ask(client, idp_browser, oslo):
    response = idp_browser.login(client, "lars-bu")
    assert response["Location"] == "/innlogging/ingen-tilknytning/"
    page = client.get(response["Location"])
    assert page.status_code == 403
    text = page.content.decode()
    assert "administrator" in text
    assert Profile.objects.get().orgnr_parent == ""
    assert client.get("/").status_code in (302, 403)


def test_person_with_one_membership_goes_straight_in(client, idp_browser, oslo):
    assert idp_browser.login(client, "ingrid-berg")["Location"] == "/"
    assert "Bytt enhet" not in client.get("/").content.decode()
    actor = acting(client)
    assert (actor.orgnr_parent, actor.orgnr_child) == ("312222019", "312345013")


def test_unit_bypass_is_refused_and_logged(client, idp_browser, oslo):
    """Per Dahl (Fjordvik) may not choose Fjordvik's ward 314444108 he is not registered for, nor
    a unit of another organisation, by posting it."""
    register_organisation(
        by=demo.SEEDER,
        orgnr=FJORDVIK_WARD,
        name="Fjordvik, medisinsk post",
        kind=Organisation.Kind.HOSPITAL,
        parent=oslo[demo.FJORDVIK],
    )
    assert idp_browser.login(client, "per-dahl")["Location"] == "/"
    for value in (f"{demo.FJORDVIK}:{FJORDVIK_WARD}", "312222019:312345013"):
        response = client.post("/innlogging/enhet/", {"membership": value, "next": "/"})
        assert response.status_code == 400
        assert "ikke registrert" in response.content.decode()
        actor = acting(client)
        assert (actor.orgnr_parent, actor.orgnr_child) == (demo.FJORDVIK, "")
    refused = AuditEvent.objects.filter(event="user.unit.refused").order_by("id")
    assert [event.data["asked"] for event in refused] == [f"{demo.FJORDVIK}:{FJORDVIK_WARD}", "312222019:312345013"]
    assert all(event.outcome == "refused" and event.actor_name == "Per Dahl" for event in refused)


def test_organisation_not_delegated_to_the_supplier_is_refused_by_helseid(client, idp_browser, oslo):
    stranger = register_organisation(
        orgnr="318888019", name="Ukjent klinikk", kind=Organisation.Kind.HOSPITAL, by=demo.SEEDER
    )
    add_member(
        organisation=stranger,
        unit=None,
        pid="23868130261",
        hpr_number="",
        valid_from=dt.date(2020, 1, 1),
        valid_to=None,
        by=demo.SEEDER,
    )
    response = idp_browser.login(client, "per-dahl")
    assert response["Location"].startswith("/innlogging/enhet/")
    response = client.post("/innlogging/enhet/", {"membership": "318888019:", "next": "/"})
    assert response["Location"] == "/innlogging/enhet/avvist/"
    assert client.get(response["Location"]).status_code == 403
    refused = AuditEvent.objects.get(event="user.unit.refused")
    assert refused.data["reason"] == "invalid_authorization_details"
    assert "not delegated" in refused.data["detail"]
    assert acting(client).orgnr_parent == ""


def test_devidp_refuses_authorization_details_for_an_undelegated_organisation_at_par(client, helseid, oslo, settings):
    """The PAR variant: devidp answers as the RFC 9396 error at the PAR endpoint."""
    endpoint = oidc.discovery()["pushed_authorization_request_endpoint"]

    def par(value):
        return requests.post(
            endpoint,
            data={
                "response_type": "code",
                "scope": settings.OIDC_RP_SCOPES,
                "state": "s",
                "nonce": "n",
                "redirect_uri": "http://testserver/oidc/callback/",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
                "authorization_details": json.dumps(portal_helseid.authorization_details(*value)),
                **portal_helseid.client_auth_params(),
            },
            timeout=10,
        )

    refused = par(("318888019", ""))
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_authorization_details", refused.text
    assert par(("312222019", "312345013")).status_code == 201


def test_membership_outside_its_dates_is_not_offered(client, idp_browser, oslo):
    add_member(
        organisation=oslo[demo.FJORDVIK],
        unit=None,
        pid="04916517721",
        hpr_number="",
        valid_from=timezone.localdate() + dt.timedelta(days=10),
        valid_to=None,
        by=demo.SEEDER,
    )
    assert idp_browser.login(client, "ola-hansen")["Location"] == "/"  # Sagene only, for now


def test_switch_without_refresh_token_is_refused(client, idp_browser, marte):
    idp_browser.login(client, "marte-eik")
    session = client.session
    del session[REFRESH_TOKEN_SESSION_KEY]
    session.save()
    response = client.post("/innlogging/enhet/", {"membership": "313333019:", "next": "/"})
    assert response["Location"] == "/innlogging/enhet/avvist/"
    assert AuditEvent.objects.get(event="user.unit.refused").data["reason"] == "no-refresh-token"


def test_unit_choice_does_not_redirect_elsewhere(client, idp_browser, marte):
    idp_browser.login(client, "marte-eik")
    response = client.post("/innlogging/enhet/", {"membership": "313333019:", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_unit_choice_needs_login(client, oslo):
    response = client.get("/innlogging/enhet/")
    assert response.status_code == 302
    assert response["Location"].startswith("/innlogging/?next=")


def test_a_new_login_asks_again(client, idp_browser, marte):
    idp_browser.login(client, "marte-eik")
    client.post("/innlogging/enhet/", {"membership": "313333019:", "next": "/"})
    client.post("/utlogging/")
    assert idp_browser.login(client, "marte-eik")["Location"].startswith("/innlogging/enhet/")
    assert acting(client).orgnr_parent == ""
    page = client.get("/innlogging/enhet/").content.decode()
    assert not re.search(r'value="313333019:"[^>]*checked', page)


def test_logout_revokes_the_refresh_token(client, idp_browser, marte):
    idp_browser.login(client, "marte-eik")
    token = client.session[REFRESH_TOKEN_SESSION_KEY]
    client.post("/utlogging/")
    response = portal_helseid.token_request({"grant_type": "refresh_token", "refresh_token": token})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
