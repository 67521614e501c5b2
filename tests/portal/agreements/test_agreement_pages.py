"""The municipality admin's agreement pages: the happy path, and everyone else getting 403 or 404."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from devdata import demo
from sharing.agreements import actions
from sharing.agreements.models import Agreement, Organisation
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def oslo_lovisenberg() -> Agreement:
    return Agreement.objects.get(controller__orgnr=demo.OSLO, consumer__orgnr=demo.LOVISENBERG)


def new_draft() -> Agreement:
    return actions.create_draft(
        controller=Organisation.objects.get(orgnr=demo.OSLO),
        terms=actions.Terms(consumer=Organisation.objects.get(orgnr=demo.FJORDVIK), valid_from=TODAY()),
        by=Actor(name="Astrid Holm"),
    )


def agreement_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "consumer": Organisation.objects.get(orgnr=demo.FJORDVIK).pk,
        "valid_from": TODAY().isoformat(),
        "valid_to": (TODAY() + dt.timedelta(days=730)).isoformat(),
        "kinds": ["blood_pressure", "heart_rate"],
        "lookback_days": "90",
        "bases": ["care", "emergency"],
        "purpose": "Oppfølging av pasienter innlagt ved Fjordvik",
        "legal_basis": "Helsepersonelloven § 45",
    }
    data.update(overrides)
    return data


# --- list and detail ---------------------------------------------------------------------


def test_admin_sees_their_agreements(login):
    response = login("astrid").get("/kommune/avtaler/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Lovisenberg Diakonale Sykehus" in page
    assert "Sagene legesenter" in page
    assert 'href="/kommune/avtaler/"' in page  # the header's link to these pages


def test_another_municipalitys_admin_sees_only_their_own(login):
    response = login("berit").get("/kommune/avtaler/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Bærum kommune" in page
    assert "Lovisenberg" not in page


def test_expiring_agreements_are_flagged(login, admin_world):
    actions.create_active_agreement(
        controller=admin_world[demo.OSLO],
        consumer=admin_world[demo.FJORDVIK],
        valid_from=TODAY() - dt.timedelta(days=300),
        valid_to=TODAY() + dt.timedelta(days=12),
        by=Actor(name="seed"),
    )
    page = login("astrid").get("/kommune/avtaler/").content.decode()
    assert "Én avtale slutter snart" in page
    assert "om 12 dager" in page


@pytest.mark.parametrize("person", ["astrid", "jonas"])
def test_detail_with_history_for_admin_and_auditor(login, person):
    agreement = oslo_lovisenberg()
    response = login(person).get(f"/kommune/avtaler/{agreement.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Signert og aktivert" in page  # the history
    # Only the admin gets the buttons that change it.
    assert (f"/kommune/avtaler/{agreement.pk}/avslutt/" in page) is (person == "astrid")


@pytest.mark.parametrize(
    ("person", "status"),
    [("berit", 404), ("tor", 404), ("astrid-at-baerum", 403), ("ingrid", 403), ("siri", 403), ("leif", 403)],
)
def test_others_cannot_see_oslos_agreement(login, person, status):
    agreement = oslo_lovisenberg()
    assert login(person).get(f"/kommune/avtaler/{agreement.pk}/").status_code == status


@pytest.mark.parametrize("person", ["ingrid", "siri", "leif"])
def test_no_list_without_a_municipal_role(login, person):
    response = login(person).get("/kommune/avtaler/")
    assert response.status_code == 403
    main = response.content.decode().split("<main", 1)[1]  # the header names the person's own organisation
    assert "Lovisenberg" not in main


def test_anonymous_visitor_is_sent_to_login(client, admin_world):
    response = client.get("/kommune/avtaler/")
    assert response.status_code == 302
    assert response["Location"].startswith("/innlogging/")


# --- create and edit -----------------------------------------------------------------------


def test_admin_creates_a_draft(login):
    response = login("astrid").post("/kommune/avtaler/ny/", agreement_form())
    assert response.status_code == 302
    agreement = Agreement.objects.get(consumer__orgnr=demo.FJORDVIK)
    assert response["Location"] == f"/kommune/avtaler/{agreement.pk}/"
    assert (agreement.controller.orgnr, agreement.status) == (demo.OSLO, "draft")
    assert (agreement.kinds, agreement.lookback_days, agreement.bases) == (
        ["blood_pressure", "heart_rate"],
        90,
        ["care", "emergency"],
    )
    event = AuditEvent.objects.filter(event="agreement.create").latest("id")
    assert (event.actor_name, event.org_parent, event.data["after"]["consumer"]) == (
        "Astrid Holm",
        demo.OSLO,
        demo.FJORDVIK,
    )


def test_a_bad_form_comes_back_with_errors(login):
    response = login("astrid").post(
        "/kommune/avtaler/ny/", agreement_form(kinds=[], bases=[], valid_to=(TODAY() - dt.timedelta(days=5)))
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Velg hvilke målingstyper" in page
    assert not Agreement.objects.filter(consumer__orgnr=demo.FJORDVIK).exists()


def test_a_draft_is_for_ones_own_municipality(login):
    """Bærum's admin creating an agreement makes Bærum the controller, whatever the form says."""
    response = login("berit").post("/kommune/avtaler/ny/", agreement_form(controller=demo.OSLO))
    assert response.status_code == 302
    assert Agreement.objects.get(consumer__orgnr=demo.FJORDVIK).controller.orgnr == demo.BAERUM


@pytest.mark.parametrize("person", ["jonas", "ingrid", "siri"])
def test_others_cannot_create(login, person):
    response = login(person).post("/kommune/avtaler/ny/", agreement_form())
    assert response.status_code == 403
    assert not Agreement.objects.filter(consumer__orgnr=demo.FJORDVIK).exists()


def test_admin_edits_a_draft(login):
    draft = new_draft()
    client = login("astrid")
    assert client.get(f"/kommune/avtaler/{draft.pk}/endre/").status_code == 200
    response = client.post(f"/kommune/avtaler/{draft.pk}/endre/", agreement_form(all_kinds="on", lookback_days=""))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.version, draft.kinds, draft.lookback_days) == (2, [], None)
    event = AuditEvent.objects.get(event="agreement.edit")
    assert (event.data["before"]["lookback_days"], event.data["after"]["kinds"]) == (None, [])


def test_an_active_agreement_is_amended_with_a_note(login):
    agreement = oslo_lovisenberg()
    client = login("astrid")
    form = agreement_form(consumer=agreement.consumer_id, valid_from=agreement.valid_from.isoformat())
    assert client.post(f"/kommune/avtaler/{agreement.pk}/endre/", form).status_code == 400  # no note
    response = client.post(f"/kommune/avtaler/{agreement.pk}/endre/", {**form, "note": "Begrenset til puls og BT"})
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.kinds == ["blood_pressure", "heart_rate"]
    assert list(agreement.revisions.values_list("change", flat=True)) == ["created", "activated", "amended"]


@pytest.mark.parametrize("person", ["berit", "jonas", "ingrid"])
def test_others_cannot_edit(login, person):
    draft = new_draft()
    response = login(person).post(f"/kommune/avtaler/{draft.pk}/endre/", agreement_form(lookback_days="30"))
    assert response.status_code in {403, 404}
    draft.refresh_from_db()
    assert draft.version == 1


# --- status changes ------------------------------------------------------------------------


def test_admin_activates_a_draft(login):
    draft = new_draft()
    client = login("astrid")
    assert client.get(f"/kommune/avtaler/{draft.pk}/aktiver/").status_code == 200
    response = client.post(
        f"/kommune/avtaler/{draft.pk}/aktiver/",
        {"document_reference": "Sak 2026/77", "signed_by": "Kommunedirektøren", "signed_on": TODAY().isoformat()},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.document_reference, draft.signed_on) == ("active", "Sak 2026/77", TODAY())


def test_admin_suspends_resumes_and_terminates(login):
    agreement = oslo_lovisenberg()
    client = login("astrid")
    for step, data, status in [
        ("suspender", {"note": "Avvik meldt"}, "suspended"),
        ("gjenoppta", {"note": ""}, "active"),
        ("avslutt", {"note": "Samarbeidet er avsluttet"}, "terminated"),
    ]:
        assert client.post(f"/kommune/avtaler/{agreement.pk}/{step}/", data).status_code == 302
        agreement.refresh_from_db()
        assert agreement.status == status
    events = list(AuditEvent.objects.filter(event__startswith="agreement.").values_list("event", flat=True))
    assert events[-3:] == ["agreement.suspend", "agreement.resume", "agreement.terminate"]


def test_terminating_needs_a_reason_and_happens_once(login):
    agreement = oslo_lovisenberg()
    client = login("astrid")
    assert client.post(f"/kommune/avtaler/{agreement.pk}/avslutt/", {"note": ""}).status_code == 400
    assert client.post(f"/kommune/avtaler/{agreement.pk}/avslutt/", {"note": "Slutt"}).status_code == 302
    again = client.post(f"/kommune/avtaler/{agreement.pk}/avslutt/", {"note": "Igjen"})
    assert again.status_code == 400
    assert "avsluttet" in again.content.decode()
    assert AuditEvent.objects.filter(event="agreement.terminate").count() == 1


@pytest.mark.parametrize("step", ["aktiver", "suspender", "gjenoppta", "avslutt"])
@pytest.mark.parametrize(("person", "status"), [("berit", 404), ("jonas", 403), ("ingrid", 403)])
def test_others_cannot_change_status(login, step, person, status):
    agreement = oslo_lovisenberg()
    data = {"note": "x", "document_reference": "x", "signed_by": "x", "signed_on": TODAY().isoformat()}
    assert login(person).post(f"/kommune/avtaler/{agreement.pk}/{step}/", data).status_code == status
    agreement.refresh_from_db()
    assert (agreement.status, agreement.version) == ("active", 2)


def test_unknown_agreement_is_404(login):
    assert login("astrid").get("/kommune/avtaler/999999/").status_code == 404


# --- protect by default (issue 22) ----------------------------------------------------------


def test_a_new_agreement_starts_with_nothing_chosen(login):
    page = login("astrid").get("/kommune/avtaler/ny/").content.decode()
    assert "Velg virksomhet…" in page and "---------" not in page
    assert not re.search(r'<input[^>]*name="(all_kinds|kinds)"[^>]*checked', page)
    assert 'placeholder="dd.mm.åååå"' in page


def test_a_signed_agreement_keeps_its_parties_and_start(login):
    agreement = oslo_lovisenberg()
    signed_from = agreement.valid_from
    client = login("astrid")
    page = client.get(f"/kommune/avtaler/{agreement.pk}/endre/").content.decode()
    assert re.search(r'<select name="consumer"[^>]*disabled', page)
    form = agreement_form(valid_from="01.01.2020", note="Prøver å bytte part")
    assert client.post(f"/kommune/avtaler/{agreement.pk}/endre/", form).status_code == 302
    agreement.refresh_from_db()
    assert (agreement.consumer.orgnr, agreement.valid_from) == (demo.LOVISENBERG, signed_from)


def test_units_must_belong_to_the_consumer(login):
    lovisenberg_unit = Organisation.objects.filter(parent__orgnr=demo.LOVISENBERG).first()
    assert lovisenberg_unit is not None
    response = login("astrid").post("/kommune/avtaler/ny/", agreement_form(units=[lovisenberg_unit.pk]))
    assert response.status_code == 400
    assert "aria-invalid" in response.content.decode()
    assert not Agreement.objects.filter(consumer__orgnr=demo.FJORDVIK).exists()


def test_a_new_agreement_looks_back_only_to_its_start_unless_the_admin_chooses(login):
    """The least permissive look-back is the default (issue 22): nothing measured before the agreement."""
    client = login("astrid")
    page = client.get("/kommune/avtaler/ny/").content.decode()
    assert re.search(r'<option value="start" selected>Fra avtalens start</option>', page)
    assert client.post("/kommune/avtaler/ny/", agreement_form(lookback_days="start")).status_code == 302
    agreement = Agreement.objects.get(consumer__orgnr=demo.FJORDVIK)
    assert (agreement.lookback_from_start, agreement.lookback_days) == (True, None)
    detail = client.get(f"/kommune/avtaler/{agreement.pk}/").content.decode()
    assert "Fra avtalens start" in detail
    edit = client.get(f"/kommune/avtaler/{agreement.pk}/endre/").content.decode()
    assert re.search(r'<option value="start" selected>', edit)
