"""`make run`'s demo as a person meets it: SQLite (the zero-setup default), demo data, devidp, and
the clinician's pages in Chromium.

The rest of the suite runs on PostgreSQL, so a query only PostgreSQL understands (arrays, LATERAL)
would pass every other test and break the demo's patient page; this test runs the same steps
as `make run` (migrate, devidp_setup, seed_demo, devidp, runserver) in a folder of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from devdata import demo
from portal.login.devclient import run_devidp

from .test_clinician import _chart_is_drawn, _search

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
DAYS = 40  # the trend rules need 30 days; `make run` seeds a year


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def demo_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The portal as `make run` starts it, on SQLite in a folder of its own; its base URL."""
    var = tmp_path_factory.mktemp("make-run")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "TEST_APP_ROLE"))}
    env |= {"DJANGO_ENV": "development", "VAR_DIR": str(var), "DATABASE_URL": f"sqlite:///{var / 'portal.sqlite3'}"}

    def manage(*args: str) -> None:
        done = subprocess.run(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr

    manage("migrate", "--no-input", "-v", "0")
    manage("devidp_setup", "--portal-url", url)
    manage("seed_demo", "--days", str(DAYS))
    with run_devidp(clients_file=var / "devidp" / "clients.json", log=var / "devidp.log", root=ROOT) as (issuer, _p):
        log = (var / "runserver.log").open("w")
        server = subprocess.Popen(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env={**env, "OIDC_ISSUER": issuer},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(100):
                try:
                    if requests.get(url + "/", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    time.sleep(0.2)
            else:
                pytest.fail((var / "runserver.log").read_text())
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()


def test_the_demo_on_sqlite_shows_karis_overview_chart_and_table(page: Page, demo_portal: str, screenshot) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(demo_portal + "/")
    page.get_by_role("link", name="Logg inn med HelseID").click()
    page.get_by_role("button", name="Ingrid Berg").click()
    expect(page.get_by_role("heading", name="Finn pasient")).to_be_visible()

    _search(page, demo.PATIENTS[0].pid)
    expect(page.get_by_role("heading", name="Kari Nordmann", level=1)).to_be_visible()
    weight = page.locator("article.kind-card", has=page.get_by_role("heading", name="Vekt", exact=True))
    expect(weight).to_contain_text("Vekten har økt 2 kg eller mer på 3 dager")
    screenshot("make-run-01-kari-on-sqlite")

    weight.get_by_role("link", name="Graf og tabell").click()
    assert _chart_is_drawn(page) > 0
    expect(page.locator("table tbody tr").first).to_be_visible()
    screenshot("make-run-02-weight-on-sqlite")
    assert errors == []
