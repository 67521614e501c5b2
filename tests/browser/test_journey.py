"""A clinician's first minute: log in through devidp's pages, search, see the table."""

import pytest
from playwright.sync_api import expect

from sharing.audit.models import AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_search_and_see_measurements(page, live_server, helseid, patient_data, screenshot):
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Logg inn")).to_be_visible()
    screenshot("01-login")
    page.get_by_role("link", name="Logg inn med HelseID").click()
    page.get_by_role("button", name="Ingrid Berg").click()
    expect(page.get_by_role("heading", name="Finn pasient")).to_be_visible()
    screenshot("02-search")
    page.get_by_label("Fødselsnummer").fill(patient_data)
    page.get_by_role("button", name="Slå opp").click()
    expect(page.get_by_role("heading", name="Kari Nordmann")).to_be_visible()
    expect(page.locator("table tbody tr").first).to_be_visible()
    assert page.locator("table tbody tr").count() > 300
    screenshot("03-patient")
    assert AuditEvent.objects.filter(event="patient.lookup", outcome="granted").count() == 1


def test_denied_lookup_shows_a_clear_message(page, live_server, helseid, patient_data, screenshot):
    page.goto(live_server.url + "/oidc/authenticate/")
    page.get_by_role("button", name="Per Dahl").click()
    page.get_by_label("Fødselsnummer").fill(patient_data)
    page.get_by_role("button", name="Slå opp").click()
    expect(page.get_by_role("alert")).to_contain_text("Ingen avtale")
    screenshot("04-denied")
    assert AuditEvent.objects.filter(event="patient.lookup", outcome="denied").count() == 1
