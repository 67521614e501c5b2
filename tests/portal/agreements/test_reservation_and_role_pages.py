"""Reservations and role grants in the portal: the happy paths, and everyone else getting 403 or 404."""

from __future__ import annotations

import pytest
from django.utils import timezone

from devdata import demo
from sharing.access.decision import Denial, decide
from sharing.access.models import RoleGrant
from sharing.access.roles import grants_for
from sharing.agreements import actions
from sharing.agreements.models import Organisation, Reservation
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor, Role
from sharing.core.basis import Basis
from sharing.measurements.models import PatientSource

pytestmark = pytest.mark.django_db

KARI = "30875928763"
EVA = "24916290078"  # a synthetic person with no role yet
INGRID = Actor(hpr_number="565501872", name="Ingrid Berg", security_level="4", orgnr_parent=demo.LOVISENBERG)


def oslo_reservation() -> Reservation:
    return actions.record_reservation(
        municipality=Organisation.objects.get(orgnr=demo.OSLO),
        patient_value=KARI,
        objected_on=timezone.localdate(),
        note="Reservasjon mottatt på telefon",
        by=Actor(name="Astrid Holm"),
    )


# --- reservations --------------------------------------------------------------------------


def test_admin_records_a_reservation_and_the_clinician_is_stopped_at_once(login):
    PatientSource.objects.create(patient_value=KARI, patient_system="fnr", source_orgnr=demo.OSLO)
    assert decide(actor=INGRID, patient_value=KARI, basis=Basis.CARE, reason="x").granted
    client = login("astrid")
    assert client.get("/kommune/reservasjoner/").status_code == 200
    response = client.post(
        "/kommune/reservasjoner/",
        {"patient": KARI, "against_all": "1", "objected_on": timezone.localdate().isoformat(), "note": "Brev"},
    )
    assert response.status_code == 302
    reservation = Reservation.objects.get()
    assert (reservation.municipality.orgnr, reservation.all_consumers, reservation.created_by) == (
        demo.OSLO,
        True,
        "Astrid Holm",
    )
    assert decide(actor=INGRID, patient_value=KARI, basis=Basis.CARE, reason="x").denial == Denial.RESERVED
    assert AuditEvent.objects.get(event="reservation.create").org_parent == demo.OSLO
    listed = client.get("/kommune/reservasjoner/").content.decode()
    assert KARI not in listed and "308759 *****" in listed  # minimised: birth date part only


def test_the_reservation_list_shows_no_full_number(login):
    """The whole register at every visit: birth date part and the municipality's own name for the patient."""
    PatientSource.objects.create(patient_value=KARI, patient_system="fnr", source_orgnr=demo.OSLO, display="Kari N.")
    oslo_reservation()
    actions.record_reservation(
        municipality=Organisation.objects.get(orgnr=demo.OSLO),
        patient_value=EVA,
        objected_on=timezone.localdate(),
        by=Actor(name="Astrid Holm"),
    )
    response = login("astrid").get("/kommune/reservasjoner/")
    listed = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert KARI not in listed and EVA not in listed
    assert "308759 *****" in listed and "Kari N." in listed
    assert "249162 *****" in listed and "Navn ikke kjent" in listed


def test_a_reservation_against_named_organisations(login, admin_world):
    response = login("astrid").post(
        "/kommune/reservasjoner/",
        {
            "patient": KARI,
            "against_all": "0",
            "consumers": [admin_world[demo.SAGENE_GP].pk],
            "objected_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    assert list(Reservation.objects.get().consumers.values_list("orgnr", flat=True)) == [demo.SAGENE_GP]


def test_a_bad_reservation_comes_back_with_errors(login):
    response = login("astrid").post(
        "/kommune/reservasjoner/", {"patient": "12345678901", "against_all": "0", "objected_on": ""}
    )
    assert response.status_code == 400
    assert not Reservation.objects.exists()


def test_admin_lifts_a_reservation(login):
    reservation = oslo_reservation()
    response = login("astrid").post(f"/kommune/reservasjoner/{reservation.pk}/opphev/", {"note": "Trukket"})
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert (reservation.in_force, reservation.lifted_by, reservation.lift_note) == (False, "Astrid Holm", "Trukket")


def test_another_municipality_sees_none_of_oslos_reservations(login):
    oslo_reservation()
    response = login("berit").get("/kommune/reservasjoner/")
    assert response.status_code == 200
    assert KARI not in response.content.decode()


@pytest.mark.parametrize(("person", "status"), [("berit", 404), ("jonas", 403), ("ingrid", 403), ("siri", 403)])
def test_others_cannot_lift_oslos_reservation(login, person, status):
    reservation = oslo_reservation()
    assert login(person).post(f"/kommune/reservasjoner/{reservation.pk}/opphev/", {"note": ""}).status_code == status
    reservation.refresh_from_db()
    assert reservation.in_force


@pytest.mark.parametrize("person", ["jonas", "tor", "ingrid", "leif"])
def test_only_admins_open_the_reservation_pages(login, person):
    client = login(person)
    assert client.get("/kommune/reservasjoner/").status_code == 403
    data = {"patient": KARI, "against_all": "1", "objected_on": timezone.localdate().isoformat()}
    assert client.post("/kommune/reservasjoner/", data).status_code == 403
    assert not Reservation.objects.exists()


# --- roles ---------------------------------------------------------------------------------


def _grant(client, person, role, **extra):
    """The two steps of the form: find the person (the page shows whom the number names), then
    confirm with the number the page repeats."""
    found = client.post("/kommune/roller/", {"person": person, "role": role, **extra})
    if found.status_code != 200:
        return found
    return client.post("/kommune/roller/", {"person": person, "role": role, "confirmed": person, **extra})


def test_municipality_admin_grants_and_revokes_an_auditor(login):
    login("jonas")  # Jonas has logged in: HelseID has told the portal his name
    client = login("astrid")
    page = client.get("/kommune/roller/").content.decode()
    assert "Jonas Strand" in page and "288285 *****" in page and "28828537581" not in page
    assert "Berit Lie" not in page  # Bærum's people are not Oslo's to manage
    # Eva has never logged in: the page says so instead of showing a name, and nothing is granted yet.
    found = client.post("/kommune/roller/", {"person": EVA, "role": "auditor"})
    assert found.status_code == 200
    assert "Ikke logget inn ennå" in found.content.decode()
    assert f'name="confirmed" value="{EVA}"' in found.content.decode()
    assert not RoleGrant.objects.filter(pid=EVA).exists()
    response = _grant(client, EVA, "auditor")
    assert response.status_code == 302
    grant = RoleGrant.objects.get(pid=EVA)
    assert (grant.role, grant.municipality.orgnr, grant.granted_by, grant.name) == (
        "auditor",
        demo.OSLO,
        "Astrid Holm",
        "",
    )
    assert grants_for(pid=EVA, orgnr_parent=demo.OSLO) == {(Role.AUDITOR, demo.OSLO)}
    assert client.post(f"/kommune/roller/{grant.pk}/tilbakekall/").status_code == 302
    assert grants_for(pid=EVA, orgnr_parent=demo.OSLO) == frozenset()
    assert [e.event for e in AuditEvent.objects.filter(event__startswith="role.").order_by("id")][-2:] == [
        "role.grant",
        "role.revoke",
    ]


def test_a_confirmation_for_another_number_grants_nothing(login):
    client = login("astrid")
    response = client.post("/kommune/roller/", {"person": EVA, "role": "auditor", "confirmed": "28828537581"})
    assert response.status_code == 200  # shown again, for the number now in the field
    assert not RoleGrant.objects.filter(pid=EVA).exists()


def test_a_role_is_granted_by_hpr_number_to_someone_who_has_logged_in(login):
    login("ingrid")  # Ingrid Berg's login told the portal her national ID and HPR number
    client = login("astrid")
    found = client.post("/kommune/roller/", {"person": "565501872", "role": "auditor"})
    assert found.status_code == 200 and "Ingrid Berg" in found.content.decode()
    assert _grant(client, "565501872", "auditor").status_code == 302
    assert RoleGrant.objects.get(pid="12837826592", role="auditor").name == "Ingrid Berg"
    # An HPR number nobody has logged in with cannot be resolved to a national ID.
    unknown = client.post("/kommune/roller/", {"person": "565599999", "role": "auditor"})
    assert unknown.status_code == 400 and "fødselsnummer" in unknown.content.decode()


def test_a_municipality_admin_cannot_grant_service_roles_or_other_municipalities(login, admin_world):
    client = login("astrid")
    system = _grant(client, EVA, "system_admin")
    baerum = _grant(client, EVA, "auditor", municipality=admin_world[demo.BAERUM].pk)
    assert (system.status_code, baerum.status_code) == (400, 400)
    assert not RoleGrant.objects.filter(pid=EVA).exists()


def test_no_one_grants_themselves_a_role(login):
    response = _grant(login("astrid"), "17817213715", "auditor")
    assert response.status_code == 400
    assert "deg selv" in response.content.decode()


def test_system_admin_grants_service_and_municipal_roles(login, admin_world):
    login("berit"), login("jonas")
    client = login("siri")
    page = client.get("/kommune/roller/").content.decode()
    assert "Berit Lie" in page
    assert "Jonas Strand" in page
    assert _grant(client, EVA, "service_auditor").status_code == 302
    response = _grant(client, EVA, "municipality_admin", municipality=admin_world[demo.BAERUM].pk)
    assert response.status_code == 302
    assert set(RoleGrant.objects.live().filter(pid=EVA).values_list("role", "municipality__orgnr")) == {
        ("service_auditor", None),
        ("municipality_admin", demo.BAERUM),
    }


@pytest.mark.parametrize(("person", "status"), [("berit", 404), ("jonas", 403), ("ingrid", 403), ("leif", 403)])
def test_others_cannot_revoke_oslos_grants(login, person, status):
    grant = RoleGrant.objects.get(pid="28828537581", role="auditor")
    assert login(person).post(f"/kommune/roller/{grant.pk}/tilbakekall/").status_code == status
    grant.refresh_from_db()
    assert grant.is_live


@pytest.mark.parametrize("person", ["jonas", "tor", "ingrid", "leif", "astrid-at-baerum"])
def test_only_those_who_manage_roles_open_the_role_page(login, person):
    client = login(person)
    assert client.get("/kommune/roller/").status_code == 403
    assert _grant(client, EVA, "auditor").status_code == 403
    assert not RoleGrant.objects.filter(pid=EVA).exists()


def test_header_links_follow_the_grants(login):
    astrid = login("astrid").get("/kommune/roller/").content.decode()
    assert all(link in astrid for link in ('href="/kommune/avtaler/"', 'href="/kommune/reservasjoner/"'))
    jonas = login("jonas").get("/kommune/avtaler/").content.decode()
    assert 'href="/kommune/avtaler/"' in jonas
    assert 'href="/kommune/roller/"' not in jonas
    siri = login("siri").get("/kommune/roller/").content.decode()
    assert 'href="/kommune/avtaler/"' not in siri


def test_system_admin_grants_a_privacy_officer_for_a_reading_organisation(login, admin_world):
    client = login("siri")
    assert "Virksomhet som leser" in client.get("/kommune/roller/").content.decode()
    missing = client.post("/kommune/roller/", {"person": EVA, "confirmed": EVA, "role": "org_auditor"})
    municipality = client.post(
        "/kommune/roller/",
        {"person": EVA, "confirmed": EVA, "role": "org_auditor", "organisation": admin_world[demo.OSLO].pk},
    )
    assert (missing.status_code, municipality.status_code) == (400, 400)  # none chosen; not a reader
    response = client.post(
        "/kommune/roller/",
        {"person": EVA, "confirmed": EVA, "role": "org_auditor", "organisation": admin_world[demo.LOVISENBERG].pk},
    )
    assert response.status_code == 302
    assert list(RoleGrant.objects.live().filter(pid=EVA).values_list("role", "municipality__orgnr")) == [
        ("org_auditor", demo.LOVISENBERG)
    ]
    assert "Personvernombud" in client.get("/kommune/roller/").content.decode()


def test_a_municipality_admin_cannot_grant_a_privacy_officer(login, admin_world):
    client = login("astrid")
    page = client.get("/kommune/roller/").content.decode()
    assert "Virksomhet som leser" not in page and "org_auditor" not in page
    response = client.post(
        "/kommune/roller/",
        {"person": EVA, "confirmed": EVA, "role": "org_auditor", "organisation": admin_world[demo.LOVISENBERG].pk},
    )
    assert response.status_code == 400
    assert not RoleGrant.objects.filter(pid=EVA).exists()
