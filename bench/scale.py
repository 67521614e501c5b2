"""Does it slow down as it grows? Page and search at 1,000 patients against 10,000, side by side.

    BENCH_DATABASE_URL=.../maaledata_bench BENCH_MEDIUM_DATABASE_URL=.../maaledata_bench_medium \\
        .venv/bin/python bench/scale.py

Two databases made by the same generator (bench/run.py sizes `medium` and `full`: 1,000 and
10,000 patients, one year each, 100,000 and 1,000,000 audit records). One gunicorn (2 workers)
and one devidp per database, on loopback. Every round makes the same three calls against each
database in turn, for a patient picked the same way in each, so whatever else the machine is
doing falls on both sizes alike:

- FHIR search: one patient, one code (heart rate), one year: the first page of 50 and the total;
- the portal's lookup: the search form's POST (decision, audit record, summary), after login;
- the patient page: latest values and the last 30 days of every kind.

Prints p50/p95/p99 per size and the ratio of 10,000 to 1,000. Target (issue 9): at most 1.2x.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

OSLO = "311111019"
PATIENTS_PER_SIZE = 20


def medium_database_url() -> str:
    return os.environ.get("BENCH_MEDIUM_DATABASE_URL", common.database_url() + "_medium")


def _patients(url: str) -> list[str]:
    """Oslo patients with heart-rate readings, picked by a hash so both sizes pick alike."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT ps.patient_value FROM measurements_patientsource ps WHERE ps.source_orgnr = %s "
            "AND EXISTS (SELECT 1 FROM measurements_measurement m WHERE m.patient_value = ps.patient_value "
            "AND m.kind = 'heart_rate') ORDER BY md5(ps.patient_value) LIMIT %s",
            [OSLO, PATIENTS_PER_SIZE],
        ).fetchall()
    if not rows:
        raise SystemExit(f"No generated data in {url}: run bench/run.py for this size first.")
    return [r[0] for r in rows]


class Side:
    """One database: its services, a DPoP-bound API session and a logged-in browser session."""

    def __init__(self, label: str, svc: common.Services, patients: list[str]) -> None:
        import requests

        from portal.login.devclient import DpopAuth, DpopKey, epj_user_token

        self.label, self.svc, self.patients = label, svc, patients
        key = DpopKey()
        self.api = requests.Session()
        self.api.auth = DpopAuth(epj_user_token(svc, "ingrid-berg", key), key)
        self.browser = common.log_in(svc.portal_url)
        self.browser.get(f"{svc.portal_url}/", timeout=30).raise_for_status()  # sets the CSRF cookie
        self.pages: dict[str, str] = {}
        self.samples: dict[str, list[float]] = {"search": [], "lookup": [], "page": []}

    def search(self, patient: str) -> None:
        from sharing.identifiers import SYSTEM_FNR

        since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 365 * 86400))
        params = {
            "patient.identifier": f"{SYSTEM_FNR}|{patient}",
            "code": "http://loinc.org|8867-4",
            "date": f"ge{since}",
        }
        response = self.api.get(f"{self.svc.portal_url}/fhir/Observation", params=params, timeout=30)
        response.raise_for_status()

    def lookup(self, patient: str) -> None:
        cookies = self.browser.cookies
        token = cookies.get("csrftoken") or cookies.get("__Host-csrftoken", "")
        form = {"national_id": patient, "basis": "care", "reason": "Innlagt", "csrfmiddlewaretoken": token}
        home = f"{self.svc.portal_url}/"
        response = self.browser.post(home, data=form, allow_redirects=False, timeout=30, headers={"Referer": home})
        if response.status_code != 302 or "/pasient/" not in response.headers.get("Location", ""):
            raise RuntimeError(f"{self.label}: lookup gave {response.status_code}")
        self.pages[patient] = urljoin(f"{self.svc.portal_url}/", response.headers["Location"])

    def page(self, patient: str) -> None:
        response = self.browser.get(self.pages[patient], timeout=30)
        response.raise_for_status()

    def timed(self, name: str, call: Callable[[str], None], patient: str) -> None:
        start = time.perf_counter()
        call(patient)
        self.samples[name].append((time.perf_counter() - start) * 1000)


def main(rounds: int = 200) -> list[dict[str, Any]]:
    common.setup_django()
    small_url, big_url = medium_database_url(), common.database_url()
    small_patients, big_patients = _patients(small_url), _patients(big_url)
    with (
        common.services(env={"DATABASE_URL": small_url}) as small_svc,
        common.services(env={"DATABASE_URL": big_url}) as big_svc,
    ):
        small = Side("1,000 patients", small_svc, small_patients)
        big = Side("10,000 patients", big_svc, big_patients)
        sides = (small, big)
        for side in sides:  # warm both: connections, caches, first plans
            for patient in side.patients:
                side.search(patient)
                side.lookup(patient)
                side.page(patient)
        for n in range(rounds):
            for side in sides if n % 2 == 0 else reversed(sides):
                patient = side.patients[n % len(side.patients)]
                side.timed("search", side.search, patient)
                side.timed("lookup", side.lookup, patient)
                side.timed("page", side.page, patient)
    names = {"search": "FHIR search 1 patient/code/year", "lookup": "portal lookup (POST)", "page": "patient page"}
    rows: list[dict[str, Any]] = []
    for key, name in names.items():
        at_small, at_big = common.percentiles(small.samples[key]), common.percentiles(big.samples[key])
        rows.append({"scenario": f"scale: {name} at 1,000 patients", **at_small})
        rows.append(
            {
                "scenario": f"scale: {name} at 10,000 patients (p50 ratio {at_big['p50'] / at_small['p50']:.2f})",
                **at_big,
                "floor": at_small["p95"],
                "key": "scale",
            }
        )
    return rows


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    common.print_table(main(parser.parse_args().rounds))
