"""The municipality admin sees the service's data processing agreement and who may send (issue 18)."""

import pytest
from playwright.sync_api import expect

from devdata import demo
from devdata.demo import seed_demo_grants

from .test_agreements_admin import browser_context_args, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["browser_context_args"]


def test_admin_sees_the_processing_register(page, live_server, helseid, oslo, screenshot):
    seed_demo_grants(by=demo.SEEDER)
    log_in(page, live_server.url, "Astrid Holm")
    page.get_by_role("navigation", name="Administrasjon").get_by_role("link", name="Databehandling").click()
    expect(page.get_by_role("heading", name="Databehandleravtale")).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text("DBA-0301-2025")
    expect(main).to_contain_text("vkp-hub")
    expect(main).to_contain_text("vkp-oslo")
    expect(main).not_to_contain_text("vkp-baerum")  # Bærum's sender is Bærum's business
    expect(main).not_to_contain_text("DBA-3201-2025")
    screenshot("processing-01-municipality-admin")


def test_admin_records_a_deletion_for_another_to_confirm(page, live_server, helseid, oslo, screenshot):
    seed_demo_grants(by=demo.SEEDER)
    log_in(page, live_server.url, "Astrid Holm")
    page.get_by_role("navigation", name="Administrasjon").get_by_role("link", name="Sletting").click()
    expect(page.get_by_role("heading", name="Sletting av en pasients data")).to_be_visible()
    page.get_by_label("Pasientens fødselsnummer").fill(demo.PATIENTS[0].pid)
    page.get_by_label("Kommunens instruks").fill("Oslo kommune, sak 26/77")
    page.get_by_role("button", name="Registrer slettingen").click()
    expect(page.locator("main")).to_contain_text("Venter på en annen administrator")
    screenshot("deletion-01-waiting-for-second-admin")
