"""The pages issue 16 and 22 changed, in Chromium at 1440 and 390 px, with axe-core: the service
admin's organisations (register, unit, appoint an admin confirmed by name), the organisation
admin's members and the roles page (a number, then the name HelseID gave, never typed), and the
clinician's search (bases offered, reason quick picks). Screenshots in test-artifacts/screenshots."""

import pytest
from playwright.sync_api import Page, expect

from devdata import demo
from devdata.demo import seed_demo_grants
from sharing.access.models import Membership
from sharing.agreements.models import Organisation
from sharing.audit.models import AuditEvent

from .test_accessibility import Tour, _log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NORDBY = "317777019"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "nb-NO", "timezone_id": "Europe/Oslo"}


def _find(page: Page, label: str, number: str) -> None:
    page.get_by_label(label).fill(number)
    page.get_by_role("button", name="Finn person").click()


def test_service_admin_org_admin_roles_and_search_pages(page, live_server, helseid, patient_data, screenshot):
    seed_demo_grants(by=demo.SEEDER)
    base = live_server.url
    tour = Tour(page, base, screenshot)

    # Nina Lund logs in once, so HelseID has told the portal her name.
    _log_in(page, base, "Nina Lund")
    page.context.clear_cookies()

    _log_in(page, base, "Siri Moe")
    expect(page).to_have_url(base + "/tjeneste/virksomheter/")  # the service admin's home
    tour.check("service-organisations", "/tjeneste/virksomheter/")
    page.get_by_label("Navn").fill("Nordby legesenter")
    page.get_by_label("Organisasjonsnummer").fill(NORDBY)
    page.get_by_label("Type").select_option(label="Legekontor")
    page.get_by_role("button", name="Registrer", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nordby legesenter")
    page.get_by_label("Enhetens navn").fill("Nordby legevakt")
    page.get_by_label("Enhetens organisasjonsnummer").fill("317777027")
    page.get_by_role("button", name="Registrer enhet").click()
    expect(page.get_by_text("Enheten Nordby legevakt er registrert.")).to_be_visible()

    def appoint(p: Page) -> None:
        _find(p, "Fødselsnummer eller HPR-nummer", "09899012469")
        expect(p.get_by_role("status").filter(has_text="Er dette riktig person?")).to_contain_text("Nina Lund")

    tour.check("service-organisation-confirm", f"/tjeneste/virksomheter/{NORDBY}/", then=appoint)
    page.get_by_role("button", name="Utnevn som administrator").click()
    expect(page.get_by_role("cell", name="Nina Lund", exact=True)).to_be_visible()
    tour.check("service-organisation", f"/tjeneste/virksomheter/{NORDBY}/")
    assert Membership.objects.get(organisation__orgnr=NORDBY, is_admin=True).pid == "09899012469"
    assert Organisation.objects.get(orgnr="317777027").parent.orgnr == NORDBY
    assert AuditEvent.objects.filter(event="organisation.register", actor_name="Siri Moe").count() == 2

    def grant(p: Page) -> None:
        p.get_by_label("Kommune", exact=True).select_option(label="Oslo kommune (311111019)")
        _find(p, "Fødselsnummer eller HPR-nummer", "24916290078")
        expect(p.get_by_role("status").filter(has_text="Er dette riktig person?")).to_contain_text(
            "Ikke logget inn ennå"
        )

    tour.check("service-roles-confirm", "/kommune/roller/", then=grant)
    page.context.clear_cookies()

    _log_in(page, base, "Eva Ruud")
    tour.check("org-admin-members", "/virksomhet/medlemmer/")
    members = page.locator("table")
    expect(members).to_contain_text("Nina Lund")
    expect(members).to_contain_text("098990 *****")
    expect(members).not_to_contain_text("09899012469")

    def add(p: Page) -> None:
        _find(p, "Fødselsnummer eller HPR-nummer", "565508075")
        expect(p.get_by_role("status").filter(has_text="Er dette riktig person?")).to_contain_text("HPR 565508075")

    tour.check("org-admin-members-confirm", "/virksomhet/medlemmer/", then=add)
    page.get_by_role("button", name="Legg til som medlem").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hvem som kan handle for")
    assert Membership.objects.filter(hpr_number="565508075", organisation__orgnr=demo.LOVISENBERG).exists()
    page.context.clear_cookies()

    _log_in(page, base, "Ingrid Berg")
    tour.check("clinician-search-picks", "/")
    expect(page.get_by_label("Akutt", exact=False).first).to_be_visible()
    assert tour.problems == [], "\n".join(tour.problems)
