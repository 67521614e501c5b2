"""Each demo patient's overview in Chromium, with the flags and threshold sources the README names;
screenshots for review (issue 17)."""

import re

import pytest
from playwright.sync_api import Page, expect

from devdata import demo

from .test_clinician import _chart_is_drawn, _log_in, _search, browser_context_args

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["browser_context_args"]

DAYS = 45  # the trend rules need 30 days; the full demo (`make run`) is a year


@pytest.fixture
def demo_data(oslo):
    demo.seed_measurements(days=DAYS)


def _card(page: Page, name: str):
    return page.locator("article.kind-card", has=page.get_by_role("heading", name=name, exact=True))


def test_each_demo_patient_shows_their_story(page, live_server, helseid, demo_data, screenshot):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server)

    _search(page, demo.PATIENTS[0].pid)  # Kari Nordmann: heart failure, decompensating
    expect(page.get_by_role("heading", name="Kari Nordmann", level=1)).to_be_visible()
    weight, bp = _card(page, "Vekt"), _card(page, "Blodtrykk")
    expect(weight).to_contain_text("Vekten har økt 2 kg eller mer på 3 dager")
    expect(bp).to_contain_text("Snitt 7 dager over grensen (systolisk")
    expect(bp).to_contain_text("90–135 / 50–85")
    expect(bp).to_contain_text("(standard)")
    expect(page.locator(".kind-card__context").first).to_be_visible()  # the patient's note, the device
    expect(page.locator("main")).not_to_contain_text("Uventet identifikator for utfører")
    screenshot("demo-01-kari-heart-failure")

    page.get_by_role("link", name="Nytt søk").click()
    _search(page, demo.PATIENTS[1].pid)  # Per Olsen: COPD exacerbation within scale 2
    expect(page.get_by_role("heading", name="Per Olsen", level=1)).to_be_visible()
    spo2 = _card(page, "Oksygenmetning (SpO₂)")
    expect(spo2).to_contain_text("88–92")
    expect(spo2).to_contain_text("fra kommunens oppfølgingsplan, NEWS2 SpO₂-skala 2")
    expect(spo2).to_contain_text("SpO₂ faller")
    expect(_card(page, "NEWS2")).to_contain_text("NEWS2 stiger")
    screenshot("demo-02-per-copd")

    spo2.get_by_role("link", name="Graf og tabell").click()
    expect(page.get_by_role("heading", name="Oksygenmetning (SpO₂)", level=1)).to_be_visible()
    expect(page.locator(".chart-alerts")).to_contain_text("SpO₂ faller")
    expect(page.locator("table tbody tr").first.locator(".light")).to_be_visible()
    expect(page.locator("table")).to_contain_text("Nonin 3230 pulsoksymeter")
    assert _chart_is_drawn(page) > 0.02
    box = page.locator("canvas#chart").bounding_box()
    assert box
    for x in (0.985, 0.975, 0.965, 0.955):  # the newest points, at the right edge
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * 0.6)
    screenshot("demo-03-per-spo2-chart-and-table")

    page.get_by_role("link", name="Per Olsen").first.click()
    page.get_by_role("button", name="Kopier til journal").click()
    note = page.locator("#journal-note")
    expect(note).to_have_value(re.compile(r"^Hjemmemålinger \(digital hjemmeoppfølging\), Per Olsen"))
    expect(note).to_have_value(re.compile(r"fra kommunens oppfølgingsplan, NEWS2 SpO₂-skala 2"))
    # The button's handler is attached on DOMContentLoaded: under load a click can come first.
    page.wait_for_load_state("domcontentloaded")
    page.get_by_role("button", name="Kopier teksten").click()
    expect(page.get_by_role("status")).to_have_text("Kopiert")
    screenshot("demo-04-per-journal-note")

    page.get_by_role("link", name="Tilbake til oversikten").click()
    page.get_by_role("link", name="Nytt søk").click()
    _search(page, demo.PATIENTS[2].pid)  # Aud Johansen: the municipality's own ranges
    expect(page.get_by_role("heading", name="Aud Johansen", level=1)).to_be_visible()
    glucose = _card(page, "Blodsukker")
    expect(glucose).to_contain_text("5,0–12,0")
    expect(glucose).to_contain_text("fra kommunens oppfølgingsplan")
    expect(_card(page, "Blodtrykk")).to_contain_text("100–130 / 60–80")
    expect(_card(page, "Blodtrykk")).to_contain_text("fra kommunens oppfølgingsplan")
    screenshot("demo-05-aud-own-ranges")
    glucose.get_by_role("link", name="Graf og tabell").click()
    assert _chart_is_drawn(page) > 0.02
    screenshot("demo-06-aud-glucose-chart")
    assert not errors, errors
