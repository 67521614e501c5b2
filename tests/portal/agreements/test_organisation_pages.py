"""The service admin's pages (/tjeneste/virksomheter/): reading organisations, their units and
their admins. Every change is an audited action; nobody else reaches the pages; bad input changes
nothing and says why in Norwegian."""

from __future__ import annotations

import pytest

from devdata import demo
from sharing.access.models import Membership
from sharing.agreements.models import Organisation
from sharing.audit.models import AuditEvent
from tests.conftest import idp_login

NORDBY = "317777019"  # a new GP office (checksum-valid, synthetic range)
NORDBY_UNIT = "317777027"
LIST = "/tjeneste/virksomheter/"


def _appoint(client, orgnr, person, valid_from="01.01.2025"):
    data = {"form": "admin", "admin-person": person, "admin-valid_from": valid_from}
    found = client.post(f"{LIST}{orgnr}/", data)
    if found.status_code != 200:
        return found, found
    return found, client.post(f"{LIST}{orgnr}/", {**data, "confirmed": person})


@pytest.mark.django_db
def test_service_admin_registers_an_organisation_a_unit_and_its_admin(login):
    login("astrid")  # Astrid has logged in once: the portal knows her name from HelseID
    client = login("siri")
    page = client.get(LIST)
    assert page.status_code == 200
    assert "Lovisenberg Diakonale Sykehus" in page.content.decode()
    assert "Oslo kommune" not in page.content.decode()  # municipalities are not registered here

    response = client.post(LIST, {"name": "Nordby legesenter", "orgnr": NORDBY, "kind": "gp_office"})
    assert response["Location"] == f"{LIST}{NORDBY}/"
    nordby = Organisation.objects.get(orgnr=NORDBY)
    assert (nordby.name, nordby.kind, nordby.parent) == ("Nordby legesenter", "gp_office", None)
    event = AuditEvent.objects.filter(event="organisation.register").last()
    assert (event.actor_name, event.data["after"]["orgnr"], event.data["created"]) == ("Siri Moe", NORDBY, True)

    unit = client.post(f"{LIST}{NORDBY}/", {"form": "unit", "unit-name": "Nordby legevakt", "unit-orgnr": NORDBY_UNIT})
    assert unit.status_code == 302
    assert Organisation.objects.get(orgnr=NORDBY_UNIT).parent == nordby

    found, appointed = _appoint(client, NORDBY, "17817213715")
    assert found.status_code == 200 and "Astrid Holm" in found.content.decode()
    assert appointed.status_code == 302
    admin = Membership.objects.get(organisation=nordby, is_admin=True)
    assert (admin.pid, admin.name, admin.created_by) == ("17817213715", "Astrid Holm", "Siri Moe")
    added = AuditEvent.objects.get(event="membership.add", actor_name="Siri Moe")
    assert added.data["after"]["admin"] is True
    detail = client.get(f"{LIST}{NORDBY}/").content.decode()
    assert "Astrid Holm" in detail and "178172 *****" in detail and "17817213715" not in detail
    assert "Nordby legevakt" in detail


@pytest.mark.django_db
def test_service_admin_removes_an_admin_who_then_cannot_manage_members(login):
    client = login("siri")
    eva = Membership.objects.get(pid="12817550000", is_admin=True)
    response = client.post(f"{LIST}{demo.LOVISENBERG}/administratorer/{eva.pk}/fjern/")
    assert response.status_code == 302
    eva.refresh_from_db()
    assert eva.ended_at is not None and eva.ended_by == "Siri Moe"
    assert AuditEvent.objects.get(event="membership.end").data["before"]["admin"] is True
    # An ordinary member is not an admin appointment: 404, nothing ends.
    nina = Membership.objects.get(pid="09899012469")
    assert client.post(f"{LIST}{demo.LOVISENBERG}/administratorer/{nina.pk}/fjern/").status_code == 404
    nina.refresh_from_db()
    assert nina.ended_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Lovisenberg", "orgnr": demo.LOVISENBERG, "kind": "hospital"}, "allerede registrert"),
        ({"name": "Feil", "orgnr": "317777010", "kind": "hospital"}, "rganisasjonsnummer"),
        ({"name": "Kommune", "orgnr": NORDBY, "kind": "municipality"}, "Velg et gyldig valg"),
        ({"name": "", "orgnr": NORDBY, "kind": "hospital"}, "Dette feltet er påkrevd"),
    ],
)
def test_bad_organisations_are_refused_and_change_nothing(login, data, message):
    client = login("siri")
    before = list(Organisation.objects.order_by("pk").values_list("orgnr", "name", "kind"))
    response = client.post(LIST, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(Organisation.objects.order_by("pk").values_list("orgnr", "name", "kind")) == before
    assert not AuditEvent.objects.filter(event="organisation.register", actor_name="Siri Moe").exists()


@pytest.mark.django_db
def test_bad_units_and_appointments_are_refused(login):
    client = login("siri")
    taken = client.post(
        f"{LIST}{demo.LOVISENBERG}/", {"form": "unit", "unit-name": "X", "unit-orgnr": demo.LOVISENBERG_MEDICAL}
    )
    assert taken.status_code == 400 and "allerede registrert" in taken.content.decode()
    found, _ = _appoint(client, demo.LOVISENBERG, "565599999")  # an HPR number nobody has logged in with
    assert found.status_code == 400 and "fødselsnummer" in found.content.decode()
    _found, twice = _appoint(client, demo.LOVISENBERG, "12817550000")  # Eva is already its admin
    assert twice.status_code == 400 and "allerede administrator" in twice.content.decode()
    assert Membership.objects.filter(organisation__orgnr=demo.LOVISENBERG, is_admin=True).count() == 1
    # A municipality, or a unit, is not a reading organisation's page here.
    assert client.get(f"{LIST}{demo.OSLO}/").status_code == 404
    assert client.get(f"{LIST}{demo.LOVISENBERG_MEDICAL}/").status_code == 404
    assert client.get(f"{LIST}nonsense/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("person", ["astrid", "jonas", "leif", "ingrid"])
def test_only_the_service_admin_reaches_the_organisation_pages(login, person):
    client = login(person)
    eva = Membership.objects.get(pid="12817550000", is_admin=True)
    assert client.get(LIST).status_code == 403
    assert client.post(LIST, {"name": "Nordby", "orgnr": NORDBY, "kind": "gp_office"}).status_code == 403
    assert client.get(f"{LIST}{demo.LOVISENBERG}/").status_code == 403
    assert client.post(f"{LIST}{demo.LOVISENBERG}/administratorer/{eva.pk}/fjern/").status_code == 403
    assert not Organisation.objects.filter(orgnr=NORDBY).exists()
    eva.refresh_from_db()
    assert eva.ended_at is None


@pytest.mark.django_db(transaction=True)
def test_the_service_admin_lands_on_the_organisations_after_a_helseid_login(client, helseid, oslo):
    demo.seed_demo_grants(by=demo.SEEDER)
    idp_login(client, helseid, "siri-moe")
    assert client.get("/")["Location"] == LIST
    page = client.get(LIST).content.decode()
    assert f'href="{LIST}"' in page  # the header's link
    # The organisation admin (Eva Ruud) does not reach them.
    client.post("/utlogging/")
    idp_login(client, helseid, "eva-ruud")
    assert client.get(LIST).status_code == 403
