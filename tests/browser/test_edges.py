"""The edges in Chromium: out-of-range input answered with the reason, our own error pages, and the
lists that show identifiers minimised. Screenshots `edges-*` for review."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from devdata import demo
from devdata.demo import seed_demo_grants
from sharing.agreements.actions import record_reservation
from sharing.agreements.models import Organisation
from sharing.core.actor import Actor
from tests.browser.conftest import SCREENSHOTS
from tests.conftest import PATIENT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "nb-NO", "timezone_id": "Europe/Oslo"}


def _log_in(page: Page, base: str, person: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(base + "/oidc/authenticate/")
    page.get_by_role("button", name=person).click()
    expect(page.get_by_role("button", name="Logg ut")).to_be_visible()


def _add_field(page: Page, form: str, name: str, value: str) -> None:
    """What a hand-edited request would send: a field the page's own form does not offer."""
    page.locator(form).evaluate(
        "(form, [name, value]) => { const i = document.createElement('input'); i.type = 'hidden';"
        " i.name = name; i.value = value; form.querySelectorAll(`[name=${name}]`).forEach(e => e.remove());"
        " form.appendChild(i); }",
        [name, value],
    )


def test_clinician_edges(page: Page, live_server, helseid, patient_data, screenshot, settings) -> None:
    base = live_server.url
    _log_in(page, base, "Ingrid Berg")
    page.get_by_label("Fødselsnummer", exact=True).fill(PATIENT)
    page.get_by_label("Innleggelse").check()
    page.get_by_role("button", name="Slå opp").click()
    expect(page.get_by_role("heading", name="Kari Nordmann", level=1)).to_be_visible()
    patient_url = page.url

    response = page.goto(patient_url + "heart_rate/?periode=custom&fra=2020-01-01&til=9999-12-31")
    assert response is not None and response.status == 400
    assert response.headers["cache-control"] == "no-store"
    expect(page.get_by_role("alert").first).to_contain_text("Oppgi en dato mellom 01.01.1900 og 31.12.2199.")
    screenshot("edges-01-series-far-date-400")

    _add_field(page, "form[action$='eksport/']", "periode", "custom")
    _add_field(page, "form[action$='eksport/']", "fra", "2020-01-01")
    _add_field(page, "form[action$='eksport/']", "til", "9999-12-31")
    page.get_by_role("button", name="Last ned CSV").click()
    expect(page.get_by_role("heading", name="Forespørselen kunne ikke brukes")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Oppgi en dato mellom")
    screenshot("edges-02-export-far-date-400")

    response = page.goto(base + f"/pasient/{PATIENT}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Siden finnes ikke")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(PATIENT[:6])
    screenshot("edges-03-not-found-404")

    page.goto(base + "/")
    page.locator("form.form input[name=csrfmiddlewaretoken]").evaluate("(input) => { input.value = 'x'.repeat(64); }")
    page.get_by_label("Fødselsnummer", exact=True).fill(PATIENT)
    page.get_by_label("Innleggelse").check()
    page.get_by_role("button", name="Slå opp").click()
    expect(page.get_by_role("heading", name="Skjemaet er utløpt")).to_be_visible()
    screenshot("edges-04-csrf-403")

    # Oslo records a reservation: the start page still lists the number typed, but no name.
    record_reservation(
        municipality=Organisation.objects.get(orgnr=demo.OSLO),
        patient_value=PATIENT,
        objected_on=timezone.localdate(),
        by=Actor(name="Astrid Holm"),
    )
    page.goto(base + "/")
    recent = page.locator(".recent__item")
    expect(recent).to_contain_text("308759 28763")
    expect(recent).not_to_contain_text("Kari Nordmann")
    screenshot("edges-05-start-page-after-reservation")

    settings.ROOT_URLCONF = "tests.portal.error_urls"
    response = page.goto(base + "/feil/")
    assert response is not None and response.status == 500
    expect(page.get_by_role("heading", name="Noe gikk galt")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(PATIENT)
    screenshot("edges-06-server-error-500")


def test_admin_and_auditor_edges(page: Page, live_server, helseid, patient_data, screenshot, browser) -> None:
    seed_demo_grants(by=demo.SEEDER)
    record_reservation(
        municipality=Organisation.objects.get(orgnr=demo.OSLO),
        patient_value=PATIENT,
        objected_on=timezone.localdate(),
        note="Ringte kommunen",
        by=Actor(name="Astrid Holm"),
    )
    base = live_server.url
    _log_in(page, base, "Astrid Holm")
    page.goto(base + "/kommune/reservasjoner/")
    table = page.get_by_role("table")
    expect(table).to_contain_text("308759 *****")
    expect(table).to_contain_text("Kari Nordmann")
    expect(table).not_to_contain_text(PATIENT)
    screenshot("edges-07-reservation-list-minimised")

    auditor = browser.new_context(locale="nb-NO").new_page()
    _log_in(auditor, base, "Jonas Strand")
    auditor.goto(base + "/revisjon/")
    auditor.get_by_label("Til", exact=True).fill("9999-12-31")
    auditor.get_by_role("button", name="Søk", exact=True).click()
    expect(auditor.get_by_role("alert")).to_contain_text("Oppgi en dato mellom 01.01.1900 og 31.12.2199.")
    auditor.screenshot(path=str(SCREENSHOTS / "edges-08-access-log-far-date-400.png"), full_page=True)
    _add_field(auditor, "form.audit-filters", "end", "")
    _add_field(auditor, "form.audit-filters", "page", "9223372036854775807")
    auditor.get_by_role("button", name="Søk", exact=True).click()
    expect(auditor.get_by_role("alert")).to_contain_text("For mange sider: avgrens søket.")
    auditor.screenshot(path=str(SCREENSHOTS / "edges-09-access-log-far-page-400.png"), full_page=True)
    auditor.context.close()
