"""The organisation admin manages who may act for the organisation, on their own pages; every change
is audited, and a person added here can then act for it after a HelseID login (over real HTTP)."""

import pytest

from sharing.access.models import Membership
from sharing.audit.models import AuditEvent
from tests.conftest import IdPBrowser

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_lands_on_members_and_adds_a_person_who_can_then_act(client, idp_browser, oslo):
    assert idp_browser.login(client, "eva-ruud")["Location"] == "/"
    home = client.get("/")
    assert home["Location"] == "/virksomhet/medlemmer/"
    page = client.get(home["Location"]).content.decode()
    assert "Hvem som kan handle for Lovisenberg Diakonale Sykehus" in page
    assert "Ingrid Berg" in page and "Per Dahl" not in page  # only her own organisation's members

    response = client.post(
        "/virksomhet/medlemmer/",
        {"name": "Lars Bu", "hpr_number": "565508075", "unit": "312345013", "valid_from": "2024-01-01"},
    )
    assert response["Location"] == "/virksomhet/medlemmer/"
    added = AuditEvent.objects.get(event="membership.add", actor_name="Eva Ruud")
    assert added.data["after"]["hpr_number"] == "565508075"
    client.post("/utlogging/")

    lars = IdPBrowser(idp_browser.idp)  # another browser: devidp's session is Eva's
    assert lars.login(client, "lars-bu")["Location"] == "/"
    chosen = AuditEvent.objects.filter(event="user.unit.chosen").last()
    assert (chosen.actor_name, chosen.org_parent, chosen.org_child) == ("Lars Bu", "312222019", "312345013")


def test_admin_ends_a_membership(client, idp_browser, oslo):
    idp_browser.login(client, "eva-ruud")
    nina = Membership.objects.get(name="Nina Lund")
    assert client.post(f"/virksomhet/medlemmer/{nina.pk}/avslutt/")["Location"] == "/virksomhet/medlemmer/"
    nina.refresh_from_db()
    assert nina.ended_at is not None and nina.ended_by == "Eva Ruud"
    assert AuditEvent.objects.filter(event="membership.end").count() == 1


def test_admin_cannot_end_another_organisations_member(client, idp_browser, oslo):
    idp_browser.login(client, "eva-ruud")
    per = Membership.objects.get(name="Per Dahl")
    assert client.post(f"/virksomhet/medlemmer/{per.pk}/avslutt/").status_code == 404
    per.refresh_from_db()
    assert per.ended_at is None


def test_bad_member_input_gets_a_norwegian_message_and_changes_nothing(client, idp_browser, oslo):
    idp_browser.login(client, "eva-ruud")
    before = Membership.objects.count()
    response = client.post("/virksomhet/medlemmer/", {"name": "X", "pid": "12345678901", "valid_from": "2024-01-01"})
    assert response.status_code == 400
    assert Membership.objects.count() == before
    response = client.post("/virksomhet/medlemmer/", {"name": "X", "valid_from": "2024-01-01"})
    assert "fødselsnummer eller HPR-nummer" in response.content.decode()


def test_a_clinician_is_not_the_admin(client, idp_browser, oslo):
    idp_browser.login(client, "ingrid-berg")
    assert client.get("/virksomhet/medlemmer/").status_code == 403
    assert client.post("/virksomhet/medlemmer/", {"name": "X", "hpr_number": "123456"}).status_code == 403
