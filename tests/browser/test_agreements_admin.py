"""The municipality admin's journey in Chromium: create, activate and terminate an agreement, while
a clinician at the consumer looks the patient up in another browser: access follows at once."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from devdata import demo
from devdata.demo import seed_demo_grants
from sharing.agreements.actions import register_organisation
from sharing.agreements.models import Agreement, Organisation
from sharing.audit.models import AuditEvent
from tests.browser.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    """A Norwegian browser, so date fields read as they would for the admin."""
    return {**browser_context_args, "locale": "nb-NO"}


def log_in(page: Page, base_url: str, person: str) -> None:
    page.goto(base_url + "/oidc/authenticate/")
    page.get_by_role("button", name=person).click()
    expect(page.get_by_role("button", name="Logg ut")).to_be_visible()


def look_up(page: Page, base_url: str, patient: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Fødselsnummer").fill(patient)
    page.get_by_label("Grunn med egne ord").fill("Innlagt på medisinsk avdeling")
    page.get_by_role("button", name="Slå opp").click()


def test_admin_creates_activates_and_terminates_an_agreement(
    page, browser, live_server, helseid, patient_data, screenshot
):
    seed_demo_grants(by=demo.SEEDER)
    base = live_server.url
    today = timezone.localdate().isoformat()
    clinician_context = browser.new_context(locale="nb-NO")
    clinician = clinician_context.new_page()
    log_in(clinician, base, "Per Dahl")

    # Fjordvik has no agreement: Per Dahl is told no, and nothing about the patient.
    look_up(clinician, base, patient_data)
    expect(clinician.get_by_role("alert")).to_contain_text("Ingen avtale")

    # Astrid Holm, Oslo's municipality admin, opens the agreement pages from the header.
    log_in(page, base, "Astrid Holm")
    page.get_by_role("navigation", name="Administrasjon").get_by_role("link", name="Avtaler").click()
    expect(page.get_by_role("heading", name="Delingsavtaler")).to_be_visible()
    expect(page.get_by_role("link", name="Lovisenberg Diakonale Sykehus")).to_be_visible()
    screenshot("agreements-01-list")

    # A new agreement with Fjordvik sykehus: every kind, the last 90 days, as a draft.
    page.get_by_role("link", name="Ny avtale").click()
    page.get_by_label("Mottakende virksomhet").select_option(label="Fjordvik sykehus (314444019)")
    page.get_by_label("Gyldig fra").fill(today)
    expect(page.get_by_label("Alle målingstyper", exact=False)).not_to_be_checked()  # nothing until chosen
    page.get_by_label("Alle målingstyper", exact=False).check()
    page.get_by_label("Tilbakeblikk").select_option(label="90 dager")
    page.get_by_label("Formål", exact=True).fill("Oppfølging av pasienter fra Oslo innlagt ved Fjordvik")
    page.get_by_label("Rettslig grunnlag").fill("Helsepersonelloven § 45 og databehandleravtale")
    screenshot("agreements-02-new")
    page.get_by_role("button", name="Lagre utkast").click()
    expect(page.get_by_role("heading", name="Fjordvik sykehus")).to_be_visible()
    expect(page.get_by_text("Utkast", exact=True).first).to_be_visible()
    screenshot("agreements-03-draft")

    # A draft gives nothing.
    look_up(clinician, base, patient_data)
    expect(clinician.get_by_role("alert")).to_contain_text("Ingen avtale")

    # Signed and activated: Per Dahl now sees Kari Nordmann's last 90 days.
    page.get_by_role("link", name="Signer og aktiver").click()
    page.get_by_label("Referanse til signert dokument").fill("Sak 2026/4711")
    page.get_by_label("Signert av").fill("Kommunedirektør Oslo; administrerende direktør Fjordvik")
    page.get_by_label("Signert dato").fill(today)
    screenshot("agreements-04-activate")
    page.get_by_role("button", name="Aktiver avtalen").click()
    expect(page.get_by_role("status")).to_contain_text("Avtalen er aktiv")
    expect(page.get_by_text("Gjelder", exact=True).first).to_be_visible()
    screenshot("agreements-05-active")
    look_up(clinician, base, patient_data)
    expect(clinician.get_by_role("heading", name="Kari Nordmann")).to_be_visible()
    clinician.screenshot(path=str(SCREENSHOTS / "agreements-06-clinician-granted.png"), full_page=True)

    # Terminated: the very next lookup is denied again.
    page.get_by_role("link", name="Avslutt").click()
    page.get_by_label("Begrunnelse").fill("Samarbeidet om pasientforløpet er avsluttet")
    screenshot("agreements-07-terminate")
    page.get_by_role("button", name="Avslutt for godt").click()
    expect(page.get_by_text("Avsluttet", exact=True).first).to_be_visible()
    expect(page.get_by_role("cell", name="Signert og aktivert")).to_be_visible()
    screenshot("agreements-08-terminated")
    look_up(clinician, base, patient_data)
    expect(clinician.get_by_role("alert")).to_contain_text("Ingen avtale")
    clinician_context.close()

    agreement = Agreement.objects.get(consumer__orgnr=demo.FJORDVIK)
    assert (agreement.status, agreement.lookback_days, agreement.document_reference) == (
        "terminated",
        90,
        "Sak 2026/4711",
    )
    assert list(agreement.revisions.values_list("change", flat=True)) == ["created", "activated", "terminated"]
    reads = AuditEvent.objects.filter(org_parent=demo.FJORDVIK, patient_value=patient_data).order_by("id")
    outcomes = [event.outcome for event in reads]
    assert outcomes[:2] == ["denied", "denied"]
    assert "granted" in outcomes
    assert outcomes[-1] == "denied"


def test_admin_records_a_reservation_and_grants_a_role(page, browser, live_server, helseid, patient_data, screenshot):
    seed_demo_grants(by=demo.SEEDER)
    base = live_server.url
    log_in(page, base, "Astrid Holm")
    page.get_by_role("navigation", name="Administrasjon").get_by_role("link", name="Reservasjoner").click()
    page.get_by_label("Pasientens fødselsnummer").fill(patient_data)
    page.get_by_label("Dato for reservasjonen").fill(timezone.localdate().isoformat())
    page.get_by_label("Merknad").fill("Pasienten ringte kommunen og ønsker ikke deling")
    page.get_by_role("button", name="Registrer reservasjon").click()
    expect(page.get_by_role("status")).to_contain_text("Reservasjonen er registrert")
    listed = page.get_by_role("table")
    expect(listed.get_by_role("cell", name="308759 *****")).to_be_visible()  # minimised (docs/audit.md)
    expect(listed).not_to_contain_text(patient_data)
    screenshot("agreements-09-reservation")

    # Ingrid Berg at Lovisenberg (agreement in force) is told only that access is not possible.
    clinician_context = browser.new_context(locale="nb-NO")
    clinician = clinician_context.new_page()
    log_in(clinician, base, "Ingrid Berg")
    look_up(clinician, base, patient_data)
    expect(clinician.get_by_role("alert")).to_contain_text("Ingen avtale")
    expect(clinician.get_by_text("Kari Nordmann")).to_have_count(0)
    clinician.screenshot(path=str(SCREENSHOTS / "agreements-10-clinician-reserved.png"), full_page=True)
    clinician_context.close()
    assert AuditEvent.objects.filter(org_parent=demo.LOVISENBERG, outcome="denied").latest("id").data == {
        "denial": "reserved"
    }

    page.get_by_role("navigation", name="Administrasjon").get_by_role("link", name="Roller").click()
    # No name is typed: the number, then the name HelseID gave at the person's own login to confirm.
    page.get_by_label("Fødselsnummer eller HPR-nummer").fill("24916290078")
    page.get_by_label("Rolle").select_option(label="Revisor")
    page.get_by_role("button", name="Finn person").click()
    expect(page.get_by_role("status")).to_contain_text("Ikke logget inn ennå")
    screenshot("agreements-11a-roles-confirm")
    page.get_by_role("button", name="Tildel rolle").click()
    expect(page.get_by_role("cell", name="Ikke logget inn ennå Fødselsnummer 249162 *****")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("24916290078")
    screenshot("agreements-11-roles")


def _fjordvik_unit() -> Organisation:
    seed_demo_grants(by=demo.SEEDER)
    fjordvik = Organisation.objects.get(orgnr=demo.FJORDVIK)
    return register_organisation(
        orgnr="975555011", name="Fjordvik, akuttmottak", kind=fjordvik.kind, parent=fjordvik, by=demo.SEEDER
    )


@pytest.mark.parametrize(("label", "width"), [("desktop", 1440), ("phone", 390)])
def test_the_unit_list_follows_the_chosen_consumer(page, live_server, helseid, patient_data, screenshot, label, width):
    """'Begrens til enheter' lists only the chosen consumer's units, and a hidden unit is never sent."""
    _fjordvik_unit()
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server.url, "Astrid Holm")
    page.goto(live_server.url + "/kommune/avtaler/ny/")
    units = page.locator("[data-units]")
    lovisenberg_unit = units.get_by_label("Lovisenberg Diakonale Sykehus: Lovisenberg, medisinsk klinikk")
    fjordvik_unit = units.get_by_label("Fjordvik sykehus: Fjordvik, akuttmottak")
    # No consumer yet: no units, and a hint saying why.
    expect(units.get_by_text("Velg mottakende virksomhet først")).to_be_visible()
    expect(lovisenberg_unit).to_be_hidden()
    expect(fjordvik_unit).to_be_hidden()
    page.get_by_label("Mottakende virksomhet").select_option(
        label=f"Lovisenberg Diakonale Sykehus ({demo.LOVISENBERG})"
    )
    expect(lovisenberg_unit).to_be_visible()
    expect(fjordvik_unit).to_be_hidden()
    expect(units.get_by_text("Velg mottakende virksomhet først")).to_be_hidden()
    lovisenberg_unit.check()
    screenshot(f"agreements-units-lovisenberg-{label}")
    # Another consumer: its own unit only, and the first one's choice is dropped.
    page.get_by_label("Mottakende virksomhet").select_option(label=f"Fjordvik sykehus ({demo.FJORDVIK})")
    expect(fjordvik_unit).to_be_visible()
    expect(lovisenberg_unit).to_be_hidden()
    expect(lovisenberg_unit).not_to_be_checked()
    screenshot(f"agreements-units-fjordvik-{label}")


@pytest.mark.parametrize("java_script_enabled", [False])
def test_without_script_every_unit_is_listed_and_the_server_refuses_another_organisations(
    browser, live_server, helseid, patient_data, java_script_enabled
):
    _fjordvik_unit()
    context = browser.new_context(locale="nb-NO", java_script_enabled=java_script_enabled)
    page = context.new_page()
    log_in(page, live_server.url, "Astrid Holm")
    page.goto(live_server.url + "/kommune/avtaler/ny/")
    page.get_by_label("Mottakende virksomhet").select_option(label=f"Fjordvik sykehus ({demo.FJORDVIK})")
    page.get_by_label("Lovisenberg Diakonale Sykehus: Lovisenberg, medisinsk klinikk").check()  # listed without script
    page.get_by_label("Gyldig fra").fill(timezone.localdate().strftime("%d.%m.%Y"))
    page.get_by_label("Puls").check()
    page.get_by_label("Formål").fill("Oppfølging etter utskrivning")
    page.get_by_role("button", name="Lagre utkast").click()
    expect(page.get_by_role("alert").filter(has_text="er ikke en enhet i Fjordvik sykehus")).to_be_visible()
    expect(page.locator("[data-units] [aria-invalid=true]").first).to_be_attached()
    page.screenshot(path=str(SCREENSHOTS / "agreements-units-refused-without-script.png"), full_page=True)
    assert not Agreement.objects.filter(consumer__orgnr=demo.FJORDVIK).exists()
    context.close()
