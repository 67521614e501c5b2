"""A person who works at several units of their organisation chooses the one they act for,
and that unit is in every audit record written while they act for it."""

import re

import pytest
from django.test import RequestFactory

from devdata import demo
from portal.login.acting import actor_for
from portal.login.models import Profile
from sharing.agreements.actions import register_organisation
from sharing.agreements.models import Organisation
from sharing.audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

CARDIOLOGY = "312345021"


@pytest.fixture
def two_units(oslo):
    """Lovisenberg with a second unit beside medisinsk klinikk (312345013)."""
    return register_organisation(
        orgnr=CARDIOLOGY,
        name="Lovisenberg, hjertepoliklinikken",
        kind=Organisation.Kind.HOSPITAL,
        parent=oslo[demo.LOVISENBERG],
    )


def acting(client):
    request = RequestFactory().get("/")
    request.user = Profile.objects.get().user
    request.session = client.session
    return actor_for(request)


def test_person_with_several_units_is_asked_which_one_after_login(client, idp_browser, two_units):
    response = idp_browser.login(client, "ingrid-berg")
    assert response["Location"] == "/innlogging/enhet/?next=%2F"
    page = client.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "Lovisenberg, medisinsk klinikk (312345013)" in text
    assert "Lovisenberg, hjertepoliklinikken (312345021)" in text
    assert re.search(r'value="312345013"[^>]*checked', text)  # HelseID's unit is preselected
    assert not re.search(r'value="312345021"[^>]*checked', text)


def test_chosen_unit_is_acted_for_and_in_every_audit_record(client, idp_browser, two_units):
    idp_browser.login(client, "ingrid-berg")
    assert acting(client).orgnr_child == "312345013"  # HelseID's unit until the person chooses
    response = client.post("/innlogging/enhet/", {"orgnr_child": CARDIOLOGY, "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    actor = acting(client)
    assert (actor.orgnr_parent, actor.orgnr_child, actor.org_child_name) == (
        "312222019",
        CARDIOLOGY,
        "Lovisenberg, hjertepoliklinikken",
    )
    chosen = AuditEvent.objects.get(event="user.unit.chosen")
    assert chosen.data == {"from": "312345013", "to": CARDIOLOGY}
    assert client.get("/").status_code == 200
    client.post("/utlogging/")
    logout = AuditEvent.objects.get(event="user.logout")
    assert (logout.org_child, logout.org_child_name) == (CARDIOLOGY, "Lovisenberg, hjertepoliklinikken")


def test_header_shows_the_unit_and_offers_a_change(client, idp_browser, two_units):
    idp_browser.login(client, "ingrid-berg")
    client.post("/innlogging/enhet/", {"orgnr_child": CARDIOLOGY, "next": "/"})
    page = client.get("/").content.decode()
    assert "312222019 / 312345021" in page
    assert "Bytt enhet" in page


def test_unit_outside_the_organisation_cannot_be_chosen(client, idp_browser, two_units):
    idp_browser.login(client, "ingrid-berg")
    response = client.post("/innlogging/enhet/", {"orgnr_child": demo.SAGENE_GP, "next": "/"})
    assert response.status_code == 200  # the form again, with an error
    assert acting(client).orgnr_child == "312345013"
    assert not AuditEvent.objects.filter(event="user.unit.chosen").exists()


def test_unit_choice_does_not_redirect_elsewhere(client, idp_browser, two_units):
    idp_browser.login(client, "ingrid-berg")
    response = client.post("/innlogging/enhet/", {"orgnr_child": CARDIOLOGY, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_person_with_one_unit_goes_straight_in_and_has_nothing_to_choose(client, idp_browser, oslo):
    assert idp_browser.login(client, "ingrid-berg")["Location"] == "/"
    assert "Bytt enhet" not in client.get("/").content.decode()
    assert client.get("/innlogging/enhet/").status_code == 404


def test_person_of_another_organisation_is_not_offered_its_units(client, idp_browser, two_units):
    assert idp_browser.login(client, "ola-hansen")["Location"] == "/"
    assert client.get("/innlogging/enhet/").status_code == 404
    response = client.post("/innlogging/enhet/", {"orgnr_child": CARDIOLOGY, "next": "/"})
    assert response.status_code == 404
    assert acting(client).orgnr_child == ""


def test_unit_choice_needs_login(client, two_units):
    response = client.get("/innlogging/enhet/")
    assert response.status_code == 302
    assert response["Location"].startswith("/innlogging/?next=")


def test_a_new_login_asks_again(client, idp_browser, two_units):
    idp_browser.login(client, "ingrid-berg")
    client.post("/innlogging/enhet/", {"orgnr_child": CARDIOLOGY, "next": "/"})
    client.post("/utlogging/")
    assert idp_browser.login(client, "ingrid-berg")["Location"].startswith("/innlogging/enhet/")
    assert acting(client).orgnr_child == "312345013"
