"""A clinician's journey in Chromium: login → search → overview → each chart period → table →
export → print, for a patient with a year of six kinds; screenshots for review."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from sharing.audit.models import AuditEvent
from tests.portal.clinician.factories import KARI, measurement, seed_year, store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PERIODS = [
    ("7d", "7 dager"),
    ("30d", "30 dager"),
    ("90d", "90 dager"),
    ("1y", "1 år"),
    ("all", "Alt du har tilgang til"),
]

# Share of the canvas's pixels that are not transparent: a drawn chart (axes, grid, lines,
# bands) covers far more than an empty one, which is 0.
INK = """(canvas) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
  return ink / (canvas.width * canvas.height);
}"""


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A Norwegian browser (date fields as dd.mm.åååå), in UTC: the pages must show Oslo time anyway."""
    return {**browser_context_args, "locale": "nb-NO", "timezone_id": "UTC"}


@pytest.fixture
def kari(oslo):
    """A year of six kinds at four readings a day, the latest pulse flagged by ingest."""
    now = timezone.now()
    seed_year(end=now - dt.timedelta(hours=1))
    store(
        [
            measurement(
                kind="heart_rate",
                effective=now - dt.timedelta(minutes=30),
                value=96,
                flags=["status-preliminary", "performer-identifier-system"],
            )
        ]
    )
    return KARI


def _log_in(page: Page, live_server, person: str = "Ingrid Berg") -> None:
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Logg inn med HelseID").click()
    page.get_by_role("button", name=person).click()
    expect(page.get_by_role("heading", name="Finn pasient")).to_be_visible()


def _search(page: Page, national_id: str) -> None:
    page.get_by_label("Fødselsnummer", exact=True).fill(national_id)
    page.get_by_label("Innleggelse").check()  # a quick pick from the coded list of reasons
    page.get_by_role("button", name="Slå opp").click()


def _chart_is_drawn(page: Page) -> float:
    canvas = page.locator("canvas#chart")
    expect(canvas).to_have_attribute("data-drawn", "true")
    return canvas.evaluate(INK)


def test_clinician_journey(page, live_server, helseid, kari, screenshot):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda response: errors.append(response.url) if response.status >= 400 else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server)
    screenshot("clinician-01-search")

    field = page.get_by_label("Fødselsnummer", exact=True)
    field.fill("30875928764")
    expect(page.locator("#id_national_id_live")).to_contain_text("kontrollsifrene stemmer ikke")
    screenshot("clinician-02-search-typo")
    field.fill("308759 28763")
    expect(page.locator("#id_national_id_live")).to_have_text("Gyldig nummer")
    # The reason starts empty; a quick pick fills it, and the clinician may add to it.
    reason = page.get_by_label("Grunn med egne ord")
    expect(reason).to_have_value("")
    page.get_by_label("Poliklinisk konsultasjon").check()
    expect(reason).to_have_value("Poliklinisk konsultasjon")
    page.get_by_label("Innleggelse").check()
    expect(reason).to_have_value("Innleggelse")  # another pick replaces a reason that was only a pick
    reason.fill("Innleggelse, hjertesvikt")
    page.get_by_label("Akutt forverring").check()
    expect(reason).to_have_value("Innleggelse, hjertesvikt")  # the clinician's own words stay
    page.get_by_label("Innleggelse").check()
    screenshot("clinician-02b-search-reason")
    page.get_by_role("button", name="Slå opp").click()

    expect(page.get_by_role("heading", name="Kari Nordmann", level=1)).to_be_visible()
    assert KARI not in page.url
    cards = page.locator("article.kind-card")
    expect(cards).to_have_count(6)
    pulse = page.locator("article", has=page.get_by_role("heading", name="Puls"))
    expect(pulse).to_contain_text("Foreløpig, ikke endelig")
    expect(pulse).not_to_contain_text("Uventet identifikator for utfører")
    screenshot("clinician-03-overview")

    pulse.get_by_role("link", name="Graf og tabell").click()
    expect(page.get_by_role("heading", name="Puls", level=1)).to_be_visible()
    for key, label in PERIODS:
        page.get_by_role("navigation", name="Periode").get_by_role("link", name=label, exact=True).click()
        expect(page.get_by_role("link", name=label, exact=True)).to_have_attribute("aria-current", "true")
        assert _chart_is_drawn(page) > 0.02, key
        screenshot(f"clinician-04-pulse-{key}")

    # A year is many rows: the table shows a page of 100, newest first, and pages on.
    pager = page.get_by_role("navigation", name="Sider i tabellen")
    expect(page.locator("table tbody tr")).to_have_count(100)
    expect(pager.get_by_role("link", name="Side 1", exact=True)).to_have_attribute("aria-current", "page")
    newest = page.locator("table tbody tr td").first.inner_text()
    pager.get_by_role("link", name="Eldre").click()
    expect(pager.get_by_role("link", name="Side 2", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.locator("table tbody tr")).to_have_count(100)
    expect(page.get_by_text("Målinger 101–200 av")).to_be_visible()
    assert page.locator("table tbody tr td").first.inner_text() != newest
    expect(page.get_by_role("link", name="Alt du har tilgang til", exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    assert _chart_is_drawn(page) > 0.02
    screenshot("clinician-04-pulse-page-2")

    today = timezone.localdate()
    page.get_by_label("Fra", exact=True).fill((today - dt.timedelta(days=13)).isoformat())
    page.get_by_label("Til", exact=True).fill((today - dt.timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Vis").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(7 * 4)
    assert _chart_is_drawn(page) > 0.02
    screenshot("clinician-05-pulse-custom")

    page.get_by_role("link", name="Blodtrykk").click()
    assert _chart_is_drawn(page) > 0.02
    canvas = page.locator("canvas#chart").bounding_box()
    assert canvas
    page.mouse.move(canvas["x"] + canvas["width"] * 0.8, canvas["y"] + canvas["height"] * 0.4)
    screenshot("clinician-06-blood-pressure-tooltip")

    page.get_by_role("link", name="NEWS2").click()
    page.get_by_role("link", name="90 dager", exact=True).click()
    assert _chart_is_drawn(page) > 0.02
    screenshot("clinician-07-news2")

    # The table: newest first, then sorted by value with one click.
    page.get_by_role("link", name="Puls").click()
    page.get_by_role("link", name="7 dager", exact=True).click()
    expect(rows.first.locator("td").nth(1)).to_contain_text("96")
    page.get_by_role("button", name="Verdi").click()
    expect(page.locator("th", has_text="Verdi")).to_have_attribute("aria-sort", "ascending")
    values = [float(v.split()[0].replace(",", ".")) for v in rows.locator("td:nth-child(2)").all_inner_texts()]
    assert values == sorted(values)
    screenshot("clinician-08-table-sorted")

    with page.expect_download() as download:
        page.get_by_role("button", name="Last ned CSV").click()
    assert download.value.suggested_filename.startswith("målinger-kari-nordmann-puls-")
    text = download.value.path().read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert table[0] == ["Pasient", "Kari Nordmann"]
    columns = table.index([]) + 1
    assert table[columns][:3] == ["Tidspunkt", "Måling", "Verdi"]
    assert len(table) - columns - 1 == rows.count()

    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Periode")).to_be_hidden()
    screenshot("clinician-09-print-table")
    page.emulate_media(media="screen")
    page.get_by_role("link", name="Kari Nordmann").first.click()
    page.emulate_media(media="print")
    expect(page.get_by_text("Skrevet ut")).to_be_visible()
    screenshot("clinician-10-print-overview")
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Nytt søk").click()
    recent = page.locator(".recent__item")
    expect(recent).to_have_count(1)
    expect(recent).to_contain_text("308759 28763")
    expect(recent).not_to_contain_text("Kari Nordmann")  # no name before a new lookup (docs/audit.md)
    screenshot("clinician-11-recent")
    recent.get_by_role("button", name="Åpne").click()
    expect(page.get_by_role("heading", name="Kari Nordmann", level=1)).to_be_visible()

    assert not [e for e in errors if "favicon" not in e], errors
    granted = AuditEvent.objects.filter(outcome="granted", patient_value=KARI)
    assert granted.filter(event="patient.lookup").count() == 2
    assert granted.filter(event="patient.export").count() == 1
    assert granted.filter(event="patient.view").count() >= 2 + len(PERIODS) + 4


def test_tablet_width(page, live_server, helseid, kari, screenshot):
    page.set_viewport_size({"width": 768, "height": 1024})
    _log_in(page, live_server)
    _search(page, KARI)
    expect(page.locator("article.kind-card")).to_have_count(6)
    screenshot("clinician-12-tablet-overview")
    page.locator("article", has=page.get_by_role("heading", name="Blodtrykk")).get_by_role(
        "link", name="Graf og tabell"
    ).click()
    assert _chart_is_drawn(page) > 0.02
    screenshot("clinician-13-tablet-chart")
    # Keyboard: the period links and the table's sort buttons are reachable and usable.
    page.get_by_role("link", name="90 dager", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="90 dager", exact=True)).to_have_attribute("aria-current", "true")


def test_denied_lookup_shows_a_clear_message(page, live_server, helseid, kari, screenshot):
    _log_in(page, live_server, "Per Dahl")
    _search(page, KARI)
    expect(page.get_by_role("alert")).to_contain_text("Ingen avtale")
    screenshot("clinician-14-denied")
    assert AuditEvent.objects.filter(event="patient.lookup", outcome="denied").count() == 1
