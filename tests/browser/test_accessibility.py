"""Every page of every role, at a desktop (1440 px) and a phone (390 px) width: axe-core (npm, pinned
in package.json) finds no violation of any impact, no request for a missing file (the favicon), and
a screenshot of each page for review (issue 22)."""

from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from devdata import demo
from devdata.demo import seed_demo_grants
from sharing.agreements.models import Agreement

from .test_auditor import _a_month_of_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": 1440, "phone": 390}

# axe passes an aria-describedby when one of its ids exists; a help text or error that is never
# read out (issue 22: `id_reason_helptext` against `id_reason_help`) is caught here.
DANGLING = """() => [...document.querySelectorAll("[aria-describedby], [aria-labelledby]")].flatMap((el) =>
  ["aria-describedby", "aria-labelledby"].flatMap((attr) => (el.getAttribute(attr) || "").split(/\\s+/)
    .filter((id) => id && !document.getElementById(id)).map((id) => `${el.id || el.tagName} ${attr}=${id}`)))"""


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "nb-NO", "timezone_id": "Europe/Oslo"}


def _violations(page: Page) -> list[str]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # through the DevTools protocol: the page's CSP stays as it is
    found = page.evaluate("async () => (await window.axe.run(document)).violations")
    dangling = page.evaluate(DANGLING)
    return [f"aria reference to a missing id: {d}" for d in dangling] + [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}" for v in found
    ]


class Tour:
    """Visits pages at both widths; collects every violation and every 404 so one run shows all."""

    def __init__(self, page: Page, base: str, screenshot: Callable[[str], Path]) -> None:
        self.page, self.base, self.screenshot = page, base, screenshot
        self.problems: list[str] = []

    def check(self, name: str, url: str | None = None, then: Callable[[Page], None] | None = None) -> None:
        for label, width in WIDTHS.items():
            self.page.set_viewport_size({"width": width, "height": 900})
            if url is not None:
                self.page.goto(self.base + url)
            if then is not None:
                then(self.page)
            self.page.wait_for_load_state("networkidle")
            self.screenshot(f"a11y-{name}-{label}")
            self.problems += [f"{name} @ {width}px: {v}" for v in _violations(self.page)]


def _log_in(page: Page, base: str, person: str) -> None:
    page.goto(base + "/oidc/authenticate/")
    page.get_by_role("button", name=person).click()
    expect(page.get_by_role("button", name="Logg ut")).to_be_visible()


def _look_up(page: Page, patient: str) -> None:
    page.get_by_label("Fødselsnummer", exact=True).fill(patient)
    page.get_by_label("Grunn med egne ord").fill("Innlagt på medisinsk avdeling")
    page.get_by_role("button", name="Slå opp").click()


def _save_empty_draft(page: Page) -> None:
    page.get_by_role("button", name="Lagre utkast").click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()  # errors marked, not only said


def test_every_page_of_every_role_has_no_accessibility_violations(
    page, browser, live_server, helseid, patient_data, screenshot
):
    seed_demo_grants(by=demo.SEEDER)
    _a_month_of_log()
    base = live_server.url
    tour = Tour(page, base, screenshot)

    tour.check("login", "/")
    tour.check("not-found", "/finnes-ikke/")

    _log_in(page, base, "Ingrid Berg")
    tour.check("clinician-search", "/")
    page.goto(base + "/")
    _look_up(page, patient_data)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kari Nordmann")
    patient_url = page.url.removeprefix(base)
    tour.check("clinician-patient", patient_url)
    tour.check("clinician-series", patient_url + "heart_rate/")
    tour.check(
        "clinician-journal",
        patient_url,
        then=lambda p: p.get_by_role("button", name="Kopier til journal").click(),
    )
    page.goto(base + "/")
    _look_up(page, "24916290078")
    tour.check("clinician-denied")

    page.context.clear_cookies()
    _log_in(page, base, "Astrid Holm")
    agreement = Agreement.objects.filter(consumer__orgnr=demo.LOVISENBERG).first()
    assert agreement is not None
    tour.check("admin-agreements", "/kommune/avtaler/")
    tour.check("admin-agreement-new", "/kommune/avtaler/ny/")
    tour.check(
        "admin-agreement-new-errors",
        "/kommune/avtaler/ny/",
        then=_save_empty_draft,
    )
    tour.check("admin-agreement", f"/kommune/avtaler/{agreement.pk}/")
    tour.check("admin-agreement-edit", f"/kommune/avtaler/{agreement.pk}/endre/")
    tour.check("admin-agreement-suspend", f"/kommune/avtaler/{agreement.pk}/suspender/")
    tour.check("admin-reservations", "/kommune/reservasjoner/")
    tour.check("admin-roles", "/kommune/roller/")
    tour.check("admin-quality", "/kommune/datakvalitet/")

    page.context.clear_cookies()
    _log_in(page, base, "Jonas Strand")
    tour.check("auditor-log", "/revisjon/")
    tour.check("auditor-review", "/revisjon/gjennomgang/")
    tour.check("auditor-report-form", "/revisjon/innsyn/")

    def report(p: Page) -> None:
        p.get_by_label("Pasientens fødselsnummer").fill(patient_data)
        p.get_by_role("button", name="Lag rapporten").click()
        expect(p.get_by_role("heading", name="Hvem har sett hjemmemålingene dine")).to_be_visible()

    tour.check("auditor-report", "/revisjon/innsyn/", then=report)
    tour.check("auditor-review-filtered", "/revisjon/gjennomgang/?rule=emergency&status=open")

    page.context.clear_cookies()
    _log_in(page, base, "Sara Lunde")
    tour.check("org-auditor-log", "/revisjon/")
    tour.check("org-auditor-review", "/revisjon/gjennomgang/")

    icon = page.request.get(base + "/favicon.ico")
    assert icon.ok and icon.headers["content-type"] == "image/svg+xml"
    assert page.locator("link[rel=icon]").count() == 1
    assert tour.problems == [], "\n".join(tour.problems)
