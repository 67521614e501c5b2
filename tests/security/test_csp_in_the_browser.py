"""The strict CSP in a real browser: every page renders, the chart draws, nothing is blocked."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PATIENT, DevIdP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def _watch(page: Page) -> list[str]:
    errors: list[str] = []
    page.add_init_script(LISTEN)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__csp"))


def _log_in(page: Page, url: str, person: str) -> None:
    page.goto(url + "/")
    page.get_by_role("link", name="Logg inn med HelseID").click()
    page.get_by_role("button", name=person).click()


def test_clinician_pages_and_chart_under_the_csp(
    page: Page, live_server: Any, helseid: DevIdP, patient_data: str, screenshot: Any
) -> None:
    errors = _watch(page)
    response = page.goto(live_server.url + "/innlogging/")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    assert _violations(page) == []
    _log_in(page, live_server.url, "Ingrid Berg")
    expect(page.get_by_role("heading", name="Finn pasient")).to_be_visible()
    assert _violations(page) == []
    page.get_by_label("Fødselsnummer", exact=True).fill(PATIENT)
    page.get_by_label("Innleggelse").check()  # the reason starts empty: a quick pick (its script runs under the CSP)
    page.get_by_role("button", name="Slå opp").click()
    expect(page.get_by_role("heading", name="Kari Nordmann")).to_be_visible()
    assert _violations(page) == []
    page.locator("a[href*='/heart_rate/']").first.click()
    expect(page.locator("canvas#chart")).to_have_attribute("data-drawn", "true")
    assert _violations(page) == []
    screenshot("security-csp-series")
    assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []


@pytest.mark.parametrize(
    ("person", "path", "heading"),
    [("Jonas Strand", "/revisjon/", "Søk i tilgangsloggen"), ("Astrid Holm", "/kommune/avtaler/ny/", "Ny avtale")],
)
def test_admin_and_auditor_pages_under_the_csp(
    page: Page, live_server: Any, helseid: DevIdP, oslo: Any, person: str, path: str, heading: str
) -> None:
    from devdata.demo import seed_demo_grants
    from sharing.core.actor import Actor

    seed_demo_grants(by=Actor(name="seed", client_id="test"))
    errors = _watch(page)
    _log_in(page, live_server.url, person)
    page.goto(live_server.url + path)
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    assert _violations(page) == []
    assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []
