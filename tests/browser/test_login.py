"""Logging in and out through devidp's own pages in Chromium."""

import re

import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from portal.login import sessions
from sharing.audit.models import AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_through_devidp_lands_on_the_search_page(page, live_server, helseid, oslo, screenshot):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Logg inn med HelseID").click()
    expect(page.get_by_role("heading", name="Velg testperson")).to_be_visible()
    screenshot("login-01-devidp")
    page.get_by_role("button", name="Ingrid Berg").click()
    expect(page.get_by_role("heading", name="Finn pasient")).to_be_visible()
    expect(page.locator(".who__name")).to_have_text("Ingrid Berg")
    expect(page.locator(".who__org")).to_contain_text("Lovisenberg Diakonale Sykehus · Lovisenberg, medisinsk klinikk")
    expect(page.locator(".who__org")).not_to_contain_text("312222019")  # names, not numbers
    screenshot("login-02-landing")
    assert AuditEvent.objects.filter(event="user.login", outcome="success").count() == 1


def test_level_3_login_gets_a_clear_refusal(page, live_server, helseid, oslo, screenshot):
    page.goto(live_server.url + "/oidc/authenticate/")
    page.get_by_role("button", name="Emil Vik").click()
    expect(page.get_by_role("heading", name="Innlogging avvist")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("sikkerhetsnivå 3")
    screenshot("login-03-refused-level-3")


def test_person_with_two_memberships_chooses_one_and_switches(page, live_server, helseid, oslo, screenshot):
    page.goto(live_server.url + "/oidc/authenticate/")
    page.get_by_role("button", name="Marte Eik").click()
    expect(page.get_by_role("heading", name="Hvilken virksomhet og enhet handler du for?")).to_be_visible()
    screenshot("login-04-choose-organisation")
    page.get_by_label(re.compile("medisinsk klinikk")).check()
    page.get_by_role("button", name="Handle for denne virksomheten").click()
    expect(page.get_by_role("heading", name="Finn pasient")).to_be_visible()
    expect(page.locator(".who__org")).to_contain_text("Lovisenberg Diakonale Sykehus")
    page.get_by_role("link", name="Bytt enhet").click()
    page.get_by_label(re.compile("Sagene legesenter")).check()
    page.get_by_role("button", name="Handle for denne virksomheten").click()
    expect(page.get_by_role("heading", name="Finn pasient")).to_be_visible()
    expect(page.locator(".who__org")).to_contain_text("Sagene legesenter")
    screenshot("login-05-switched-organisation")
    assert AuditEvent.objects.filter(event="user.login").count() == 1  # one login, two organisations


def test_person_without_membership_is_told_whom_to_ask(page, live_server, helseid, oslo, screenshot):
    page.goto(live_server.url + "/oidc/authenticate/")
    page.get_by_role("button", name="Lars Bu").click()
    expect(page.get_by_role("heading", name="Du er ikke registrert for å handle for noen virksomhet")).to_be_visible()
    screenshot("login-06-no-membership")


def test_logout_ends_both_sessions(page, live_server, helseid, oslo, screenshot):
    page.goto(live_server.url + "/oidc/authenticate/")
    page.get_by_role("button", name="Ingrid Berg").click()
    expect(page.get_by_role("heading", name="Finn pasient")).to_be_visible()
    page.get_by_role("button", name="Logg ut").click()
    expect(page.get_by_role("heading", name="Logg ut")).to_be_visible()  # devidp asks
    page.get_by_role("button", name="Logg ut").click()
    expect(page.get_by_role("heading", name="Logg inn")).to_be_visible()
    assert page.url == live_server.url + "/innlogging/"
    page.get_by_role("link", name="Logg inn med HelseID").click()
    expect(page.get_by_role("heading", name="Velg testperson")).to_be_visible()  # no silent login
    screenshot("login-06-after-logout")


def test_idle_session_ends_with_a_clear_message(page, live_server, helseid, oslo, screenshot):
    page.goto(live_server.url + "/oidc/authenticate/")
    page.get_by_role("button", name="Ingrid Berg").click()
    expect(page.get_by_role("heading", name="Finn pasient")).to_be_visible()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "sessionid"]
    session = SessionStore(cookie["value"])
    session[sessions.LAST_SEEN] -= 31 * 60
    session.save()
    page.reload()
    expect(page.get_by_role("heading", name="Logg inn")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("30 minutter uten aktivitet")
    screenshot("login-07-idle-timeout")


def test_organisation_admin_lands_on_the_members_page(page, live_server, helseid, oslo, screenshot):
    page.goto(live_server.url + "/oidc/authenticate/")
    page.get_by_role("button", name="Eva Ruud").click()
    expect(page.get_by_role("heading", name="Hvem som kan handle for Lovisenberg Diakonale Sykehus")).to_be_visible()
    # Names come from each person's own HelseID login (Eva's just now; the others not yet in this
    # test), and numbers are masked: no full national ID on the page.
    expect(page.get_by_role("cell", name="Eva Ruud Virksomhetsadministrator")).to_be_visible()
    expect(page.get_by_role("cell", name="Ikke logget inn ennå").first).to_be_visible()
    assert not re.search(r"\b\d{11}\b", page.locator("table").inner_text())
    screenshot("members-01-list")
