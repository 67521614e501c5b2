"""No 500 on any input: out-of-range dates and page numbers answer 400 with a Norwegian message.

The four reproductions from issue 15 first (each answered 500 before), then hypothesis over the
clinician's and the auditor's forms and query parameters: bounded, derandomised, 0 × 500.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devdata import demo
from devdata.demo import seed_demo_grants
from tests.conftest import PATIENT, DevIdP, idp_login

pytestmark = pytest.mark.django_db(transaction=True)

OUT_OF_RANGE = "Oppgi en dato mellom 01.01.1900 og 31.12.2199."
FAR = {"periode": "custom", "fra": "2020-01-01", "til": "9999-12-31"}


@pytest.fixture
def ingrid(client: Client, helseid: DevIdP, patient_data: str, settings: Any) -> tuple[Client, str]:
    """Ingrid Berg with Kari Nordmann opened; the lookup limit off, so fuzzing cannot reach it."""
    settings.LOOKUP_RATE_LIMIT_PER_HOUR = 0
    idp_login(client, helseid, "ingrid-berg")
    response = client.post("/", {"national_id": PATIENT, "basis": "care", "reason": "Innlagt"})
    assert response.status_code == 302
    return client, str(response["Location"])


@pytest.fixture
def jonas(client: Client, helseid: DevIdP, patient_data: str) -> Client:
    seed_demo_grants(by=demo.SEEDER)
    idp_login(client, helseid, "jonas-strand")
    return client


def test_a_series_page_with_a_far_date_is_400_with_the_reason(ingrid: tuple[Client, str]) -> None:
    client, url = ingrid
    response = client.get(url + "heart_rate/", FAR)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Til: " + OUT_OF_RANGE in page
    assert client.get(url + "heart_rate/", {**FAR, "til": "2020-01-31"}).status_code == 200


def test_an_export_with_a_far_date_is_400_with_the_reason_and_no_file(ingrid: tuple[Client, str]) -> None:
    client, url = ingrid
    response = client.post(url + "eksport/", {"kind": "heart_rate", **FAR})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert OUT_OF_RANGE in page and "Gå tilbake" in page and PATIENT not in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"end": "9999-12-31"}, OUT_OF_RANGE),
        ({"start": "0001-01-01"}, OUT_OF_RANGE),
        ({"page": "9223372036854775807"}, "For mange sider: avgrens søket."),
        ({"page": "0"}, "Sidetallet er ikke gyldig."),
    ],
)
def test_the_log_search_refuses_far_dates_and_pages_with_400(jonas: Client, data: dict[str, str], message: str) -> None:
    response = jonas.get("/revisjon/", data)  # the log's filters are a GET (linkable)
    assert response.status_code == 400
    assert message in response.content.decode()


# --- Fuzzing ------------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=int(os.environ.get("FORM_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Any text a browser can send (lone surrogates cannot be encoded, so no client sends them).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30) | st.sampled_from(
    ["", "\x00", "%ED%A0%80", " ", "=1+1", "-", "30875928763", "all"]
)
EDGE_DATES = ["9999-12-31", "0001-01-01", "2020-02-30", "1899-12-31", "2200-01-01", "31.12.9999", "2026-01-01"]
EDGE_NUMBERS = ["9223372036854775807", "9223372036854775808", "10001", "10000", "0", "-1", "1e3", "٣"]
DATES = st.sampled_from(EDGE_DATES) | st.dates().map(lambda d: d.isoformat()) | TEXT
NUMBERS = st.sampled_from(EDGE_NUMBERS) | st.integers(min_value=-(10**30), max_value=10**30).map(str) | TEXT
OK = {200, 302, 400, 403, 404, 429}


def forms_near(valid: dict[str, str], fuzz: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[dict[str, str]]:
    """Mostly a valid form with one field replaced (so the value reaches the code behind the
    form), sometimes any subset of fuzzed fields."""
    one_off = st.sampled_from(sorted(fuzz)).flatmap(lambda name: fuzz[name].map(lambda v: {**valid, name: v}))
    return st.one_of(one_off, one_off, one_off, st.fixed_dictionaries({}, optional=fuzz))


PERIOD_VALID = {"periode": "custom", "fra": "2026-01-01", "til": "2026-01-31"}
PERIOD_FUZZ = {"periode": st.sampled_from(["7d", "all", "custom", ""]) | TEXT, "fra": DATES, "til": DATES}
KINDS = st.sampled_from(["heart_rate", "blood_pressure", ""]) | TEXT
BASES = st.sampled_from(["care", "consent", "emergency"]) | TEXT


def test_the_clinicians_forms_never_answer_500(ingrid: tuple[Client, str]) -> None:
    client, url = ingrid
    client.raise_request_exception = False
    statuses: list[int] = []

    @FUZZ
    @given(
        period=forms_near(PERIOD_VALID, PERIOD_FUZZ),
        export=forms_near({"kind": "heart_rate", **PERIOD_VALID}, {"kind": KINDS, **PERIOD_FUZZ}),
        search=forms_near(
            {"national_id": PATIENT, "basis": "care", "reason": "Innlagt"},
            {"national_id": NUMBERS, "basis": BASES, "reason": TEXT},
        ),
    )
    def run(period: dict[str, str], export: dict[str, str], search: dict[str, str]) -> None:
        for response in (
            client.get(url + "blood_pressure/", period),
            client.post(url + "eksport/", export),
            client.post("/", search),
        ):
            statuses.append(response.status_code)
            assert response.status_code in OK, (response.status_code, period, export, search)

    run()
    assert 400 in statuses and 200 in statuses


def test_the_auditors_forms_never_answer_500(jonas: Client) -> None:
    jonas.raise_request_exception = False
    statuses: list[int] = []
    log_valid = {"patient": PATIENT, "start": "2020-01-01", "end": "2030-12-31", "event": "patient.*", "page": "1"}
    log_fuzz = {
        "patient": NUMBERS,
        "user": TEXT,
        "organisation": TEXT | NUMBERS,
        "start": DATES,
        "end": DATES,
        "event": st.sampled_from(["", "patient.*", "agreement.*"]) | TEXT,
        "outcome": st.sampled_from(["", "granted", "denied"]) | TEXT,
        "basis": BASES,
        "page": NUMBERS,
    }

    @FUZZ
    @given(
        log=forms_near(log_valid, log_fuzz),
        report=forms_near({"patient": PATIENT, "format": "html"}, {"patient": NUMBERS, "format": TEXT}),
        mark=forms_near({"key": "x", "comment": "Sjekket"}, {"key": TEXT, "comment": TEXT}),
    )
    def run(log: dict[str, str], report: dict[str, str], mark: dict[str, str]) -> None:
        for response in (
            jonas.get("/revisjon/", log),
            jonas.post("/revisjon/innsyn/", report),
            jonas.post("/revisjon/gjennomgang/merk/", mark),
        ):
            statuses.append(response.status_code)
            assert response.status_code in OK, (response.status_code, log, report, mark)

    run()
    assert 400 in statuses and 200 in statuses
