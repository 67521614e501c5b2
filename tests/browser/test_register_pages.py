"""The service admin's processing register and the municipality admin's identity changes, in Chromium:
a change made through each page, axe-core finding nothing, screenshots at 1440 and 390 px."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from devdata import demo
from devdata.demo import seed_demo_grants
from sharing.agreements.models import SenderAuthorisation
from sharing.identifiers import SYSTEM_DNR
from sharing.measurements.models import IdentityLink
from tests.sharing.access.test_identity_links import DNR, send_under

from .test_accessibility import Tour, _log_in, browser_context_args

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["browser_context_args"]


def test_the_service_admin_authorises_a_sender_from_the_register(page, live_server, helseid, oslo, screenshot):
    seed_demo_grants(by=demo.SEEDER)
    base = live_server.url
    _log_in(page, base, "Siri Moe")
    page.get_by_role("link", name="Databehandlerregister").click()
    expect(page.get_by_role("heading", name="Databehandlerregister")).to_be_visible()
    tour = Tour(page, base, screenshot)
    tour.check("register-empty-form", "/kommune/register/")

    form = page.get_by_role("group", name="Autoriser en avsender")
    form.get_by_label("Kommune").select_option(label=f"Oslo kommune ({demo.OSLO})")
    form.get_by_label("Systemets klient-ID i HelseID").fill("dho-oslo-2")
    form.get_by_label("Systemets navn").fill("Oslo DHO, nytt system")
    form.get_by_label("Gyldig fra").fill(timezone.localdate().strftime("%d.%m.%Y"))
    form.get_by_label("Etter hvems instruks").fill("Oslo kommune, brev 30.11.2026")
    form.get_by_role("button", name="Autoriser avsenderen").click()
    expect(page.get_by_role("status")).to_contain_text("Systemet kan sende for kommunen")
    expect(page.locator("main")).to_contain_text("dho-oslo-2")
    assert SenderAuthorisation.objects.filter(client_id="dho-oslo-2", municipality__orgnr=demo.OSLO).exists()

    def bad_agreement(p):
        group = p.get_by_role("group", name="Registrer en databehandleravtale")
        group.get_by_role("button", name="Registrer avtalen").click()
        expect(p.locator("[aria-invalid=true]").first).to_be_visible()

    tour.check("register", "/kommune/register/")
    tour.check("register-errors", "/kommune/register/", then=bad_agreement)
    assert tour.problems == [], "\n".join(tour.problems)


def test_the_municipality_admin_links_a_d_number(page, live_server, helseid, patient_data, screenshot):
    seed_demo_grants(by=demo.SEEDER)
    send_under(DNR, SYSTEM_DNR, days=5, end=timezone.localdate() - dt.timedelta(days=200))
    base = live_server.url
    _log_in(page, base, "Astrid Holm")
    page.get_by_role("navigation", name="Administrasjon").get_by_role("link", name="Identitet", exact=True).click()
    tour = Tour(page, base, screenshot)
    tour.check("identities-empty", "/kommune/identitet/")

    page.get_by_label("D-nummer eller felles hjelpenummer").fill(DNR)
    page.get_by_label("Fødselsnummer (det nye nummeret)").fill(patient_data)
    page.get_by_label("Kommunens instruks").fill("Oslo kommune, sak 26/90")
    page.get_by_role("button", name="Koble numrene").click()
    expect(page.get_by_role("status")).to_contain_text("Numrene er koblet")
    assert IdentityLink.objects.get().old_value == DNR

    def two_fnr(p):
        p.get_by_label("D-nummer eller felles hjelpenummer").fill("15888540013")
        p.get_by_label("Fødselsnummer (det nye nummeret)").fill(patient_data)
        p.get_by_label("Kommunens instruks").fill("feil")
        p.get_by_role("button", name="Koble numrene").click()
        expect(p.get_by_role("alert").first).to_contain_text("To fødselsnumre kobles aldri sammen.")

    tour.check("identities", "/kommune/identitet/")
    tour.check("identities-error", "/kommune/identitet/", then=two_fnr)
    assert IdentityLink.objects.count() == 1
    assert tour.problems == [], "\n".join(tour.problems)
