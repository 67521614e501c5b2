"""The organisation admin manages who may act for the organisation, on their own pages; every change
is audited, and a person added here can then act for it after a HelseID login (over real HTTP).

People are chosen by number and confirmed by the name HelseID gave at their own login, never by a
typed name; the list shows names and masked national IDs."""

import pytest

from sharing.access.models import Membership
from sharing.audit.models import AuditEvent
from tests.conftest import IdPBrowser

pytestmark = pytest.mark.django_db(transaction=True)

NINA = "09899012469"  # Nina Lund, a member of Lovisenberg's medical clinic
PER = "23868130261"  # Per Dahl, Fjordvik


def _add(client, person, **fields):
    """Find the person, then confirm with the number the page repeats."""
    data = {"person": person, "unit": "312345013", "valid_from": "01.01.2024", **fields}
    found = client.post("/virksomhet/medlemmer/", data)
    if found.status_code != 200:
        return found, found
    return found, client.post("/virksomhet/medlemmer/", {**data, "confirmed": person})


def test_admin_lands_on_members_and_adds_a_person_who_can_then_act(client, idp_browser, oslo):
    # Nina logs in once (a member already): from then on her name comes from her own login.
    IdPBrowser(idp_browser.idp).login(client, "nina-lund")
    client.post("/utlogging/")
    assert idp_browser.login(client, "eva-ruud")["Location"] == "/"
    home = client.get("/")
    assert home["Location"] == "/virksomhet/medlemmer/"
    page = client.get(home["Location"]).content.decode()
    assert "Hvem som kan handle for Lovisenberg Diakonale Sykehus" in page
    assert "Nina Lund" in page and "098990 *****" in page and NINA not in page
    assert "Ikke logget inn ennå" in page  # members who have not logged in yet have no name here
    assert PER[:6] not in page  # only her own organisation's members

    # Lars Bu has never logged in: the page says so and adds nothing until Eva confirms.
    found = client.post(
        "/virksomhet/medlemmer/", {"person": "565508075", "unit": "312345013", "valid_from": "01.01.2024"}
    )
    assert found.status_code == 200
    assert "Ikke logget inn ennå" in found.content.decode()
    assert not Membership.objects.filter(hpr_number="565508075").exists()
    _found, response = _add(client, "565508075")
    assert response["Location"] == "/virksomhet/medlemmer/"
    added = AuditEvent.objects.get(event="membership.add", actor_name="Eva Ruud")
    assert (added.data["after"]["hpr_number"], added.data["after"]["name"]) == ("565508075", "")
    client.post("/utlogging/")

    lars = IdPBrowser(idp_browser.idp)  # another browser: devidp's session is Eva's
    assert lars.login(client, "lars-bu")["Location"] == "/"
    chosen = AuditEvent.objects.filter(event="user.unit.chosen").last()
    assert (chosen.actor_name, chosen.org_parent, chosen.org_child) == ("Lars Bu", "312222019", "312345013")
    client.post("/utlogging/")
    # Now that Lars has logged in, Eva's list names him: the name HelseID gave, nobody typed it.
    IdPBrowser(idp_browser.idp).login(client, "eva-ruud")
    assert "Lars Bu" in client.get("/virksomhet/medlemmer/").content.decode()


def test_the_name_shown_for_confirmation_is_the_persons_own_login(client, idp_browser, oslo):
    IdPBrowser(idp_browser.idp).login(client, "per-dahl")
    client.post("/utlogging/")
    idp_browser.login(client, "eva-ruud")
    found = client.post("/virksomhet/medlemmer/", {"person": PER, "unit": "", "valid_from": "01.01.2024"})
    assert found.status_code == 200
    page = found.content.decode()
    assert "Per Dahl" in page and "Er dette riktig person?" in page
    assert f'name="confirmed" value="{PER}"' in page
    assert not Membership.objects.filter(pid=PER, organisation__orgnr="312222019").exists()
    # A confirmation for another number adds nothing: the page asks again for the number in the field.
    again = client.post(
        "/virksomhet/medlemmer/", {"person": PER, "unit": "", "valid_from": "01.01.2024", "confirmed": NINA}
    )
    assert again.status_code == 200
    assert not Membership.objects.filter(pid=PER, organisation__orgnr="312222019").exists()


def test_admin_ends_a_membership(client, idp_browser, oslo):
    idp_browser.login(client, "eva-ruud")
    nina = Membership.objects.get(pid=NINA)
    assert client.post(f"/virksomhet/medlemmer/{nina.pk}/avslutt/")["Location"] == "/virksomhet/medlemmer/"
    nina.refresh_from_db()
    assert nina.ended_at is not None and nina.ended_by == "Eva Ruud"
    assert AuditEvent.objects.filter(event="membership.end").count() == 1


def test_admin_cannot_end_another_organisations_member_nor_an_admin(client, idp_browser, oslo):
    idp_browser.login(client, "eva-ruud")
    per = Membership.objects.get(pid=PER)
    assert client.post(f"/virksomhet/medlemmer/{per.pk}/avslutt/").status_code == 404
    # Admins are appointed and removed by the service admin, not by the organisation's admins.
    eva = Membership.objects.get(pid="12817550000", is_admin=True)
    assert client.post(f"/virksomhet/medlemmer/{eva.pk}/avslutt/").status_code == 404
    per.refresh_from_db()
    eva.refresh_from_db()
    assert per.ended_at is None and eva.ended_at is None


def test_bad_member_input_gets_a_norwegian_message_and_changes_nothing(client, idp_browser, oslo):
    idp_browser.login(client, "eva-ruud")
    before = Membership.objects.count()
    found, response = _add(client, "12345678901", confirmed="12345678901")
    assert found.status_code == 400
    assert Membership.objects.count() == before
    response = client.post("/virksomhet/medlemmer/", {"person": "abc", "valid_from": "01.01.2024"})
    assert response.status_code == 400
    assert "fødselsnummer (11 sifre) eller et HPR-nummer" in response.content.decode()
    response = client.post(
        "/virksomhet/medlemmer/",
        {"person": "565508075", "valid_from": "01.01.2024", "valid_to": "01.01.2023", "confirmed": "565508075"},
    )
    assert response.status_code == 400
    assert Membership.objects.count() == before


def test_a_clinician_is_not_the_admin(client, idp_browser, oslo):
    idp_browser.login(client, "ingrid-berg")
    assert client.get("/virksomhet/medlemmer/").status_code == 403
    data = {"person": "565508075", "valid_from": "01.01.2024", "confirmed": "565508075"}
    assert client.post("/virksomhet/medlemmer/", data).status_code == 403
