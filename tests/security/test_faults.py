"""Faults during ingest: a gunicorn worker killed in the middle of a Bundle, and PostgreSQL
restarted during a stream of Bundles. The client retries as VKP does (same Bundle, same
identifiers); afterwards every measurement is stored exactly once.

Both run the real server (gunicorn) on loopback. The PostgreSQL restart uses a private cluster
(initdb in a temporary folder, its own port), never the shared server other test runs use.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from django.db import connection
from django.utils import timezone
from psycopg import sql

from devdata import demo
from sharing.fhir.build import observation
from sharing.measurements.models import Measurement, RawResource
from tests.conftest import ROOT, DevIdP

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), Path("/usr/lib/postgresql/15/bin"))
FHIR_JSON = "application/fhir+json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bundle(prefix: str, n: int, start: int = 0) -> dict[str, Any]:
    now = timezone.now()
    entries = []
    for i in range(start, start + n):
        resource = observation(
            kind="heart_rate",
            patient="30875928763",
            patient_name="Kari Nordmann",
            effective=now - dt.timedelta(minutes=i + 1),
            value=40 + i % 150,
            municipality_orgnr=demo.OSLO,
            identifier=f"{prefix}-{i}",
        )
        entries.append({"fullUrl": f"urn:uuid:{prefix}-{i}", "resource": resource, "request": _post()})
    return {"resourceType": "Bundle", "type": "batch", "entry": entries}


def _post() -> dict[str, str]:
    return {"method": "POST", "url": "Observation"}


@contextmanager
def _gunicorn(database_url: str, idp: DevIdP, workers: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": idp.issuer,
        "OIDC_RP_PRIVATE_KEY_FILE": str(idp.keys_dir / "portal.pem"),
        "DEBUG": "false",
        "LOG_LEVEL": "ERROR",
        "DB_CONN_MAX_AGE": "60",
    }
    command = [sys.executable, "-m", "gunicorn", "portal.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    server = subprocess.Popen(  # noqa: S603 - our own app, fixed arguments
        [*command, "--timeout", "120", "--graceful-timeout", "1", "--log-level", "error"], cwd=ROOT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(f"{url}/fhir/metadata", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=30)


def _send_until_accepted(url: str, token: str, body: dict[str, Any], give_up: float = 90) -> tuple[int, list[str]]:
    """POST the Bundle, retrying on a broken connection or a 5xx, as VKP's sender does. Returns
    (attempts, the accepted answer's entry statuses)."""
    data = json.dumps(body)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    deadline, attempts = time.monotonic() + give_up, 0
    while True:
        attempts += 1
        try:
            response = requests.post(f"{url}/fhir", data=data, headers=headers, timeout=60)
            if response.status_code < 500:
                assert response.status_code == 200, response.text[:500]
                return attempts, [e["response"]["status"] for e in response.json()["entry"]]
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no answer after {attempts} attempts")
        time.sleep(0.3)


def _test_database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_bundle_loses_and_duplicates_nothing_after_the_retry(helseid: DevIdP, oslo: Any) -> None:
    token = helseid.system_token("vkp-oslo")
    n = 1500
    body = _bundle("killed", n)
    with _gunicorn(_test_database_url(), helseid, workers=1) as (url, server):
        outcome: dict[str, Any] = {}

        def first_try() -> None:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
            try:
                outcome["status"] = requests.post(f"{url}/fhir", data=json.dumps(body), headers=headers, timeout=60)
            except requests.ConnectionError as exc:
                outcome["error"] = exc

        started = time.monotonic()
        _send_until_accepted(url, token, _bundle("warm-up", n))  # how long a Bundle this size takes
        duration = time.monotonic() - started
        sender = threading.Thread(target=first_try)
        sender.start()
        time.sleep(duration * 0.4)  # well inside the request: parsing, normalising or writing
        assert sender.is_alive(), "the Bundle finished before the worker was killed"
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=True)  # noqa: S607
        for pid in workers.stdout.split():
            os.kill(int(pid), signal.SIGKILL)
        sender.join(timeout=60)
        assert "error" in outcome, f"the Bundle was answered although its worker was killed: {outcome}"
        # A Bundle is stored whole or not at all: never a part of it.
        assert Measurement.objects.filter(dedup_key__contains="killed").count() in (0, n)
        attempts, statuses = _send_until_accepted(url, token, body)
    assert len(statuses) == n and all(s.startswith(("200", "201")) for s in statuses)
    stored = Measurement.objects.filter(dedup_key__contains="killed")
    assert stored.count() == n == len(set(stored.values_list("dedup_key", flat=True)))
    assert RawResource.objects.count() == 2 * n  # the warm-up Bundle's and this one's, once each
    assert sorted(stored.values_list("value", flat=True)) == sorted(float(40 + i % 150) for i in range(n))


# --- PostgreSQL restarted during a stream -------------------------------------------------------


@contextmanager
def _private_postgres(tmp: Path) -> Iterator[tuple[str, Path, int]]:
    """A PostgreSQL cluster of our own (as the postgres user; the tests run as root here)."""
    data, sockets = tmp / "pgdata", tmp / "pgsock"
    for folder in (data, sockets):
        folder.mkdir()
        shutil.chown(folder, "postgres", "postgres")
    tmp.chmod(0o755)
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(  # noqa: S603
        [*as_postgres, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = [*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(sockets / "pg.log"), "-w"]
    subprocess.run([*ctl, "start"], check=True, capture_output=True)  # noqa: S603
    try:
        subprocess.run(  # noqa: S603
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "maaledata_fault"],
            check=True,
            capture_output=True,
        )
        yield f"postgres://postgres@127.0.0.1:{port}/maaledata_fault", data, port
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], check=False, capture_output=True)  # noqa: S603


def test_postgres_restarted_during_a_stream_loses_and_duplicates_nothing(helseid: DevIdP) -> None:
    # Not under pytest's temporary folder: that is private to root, and the cluster runs as postgres.
    tmp = Path(tempfile.mkdtemp(prefix="maaledata-faultpg-"))
    try:
        _stream_through_a_restart(tmp, helseid)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _stream_through_a_restart(tmp: Path, helseid: DevIdP) -> None:
    with _private_postgres(tmp) as (database_url, data, port):
        env = {**os.environ, "DATABASE_URL": database_url}
        for args in (["migrate", "--no-input", "-v", "0"], ["seed_demo", "--days", "0"]):
            subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603
        token = helseid.system_token("vkp-oslo")
        bundles, size = 30, 20
        with _gunicorn(database_url, helseid, workers=2) as (url, _server):
            retried = 0
            ctl = ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(data), "-w"]
            options = ["-o", f"-p {port} -k {data.parent / 'pgsock'} -c listen_addresses=127.0.0.1 -c fsync=off"]
            for b in range(bundles):
                if b == 10:  # down for two seconds in the middle of the stream
                    subprocess.run([*ctl, "-m", "fast", "stop"], check=True, capture_output=True)  # noqa: S603
                    start = [*ctl, *options, "-l", str(data.parent / "pgsock" / "pg.log"), "start"]
                    threading.Timer(2.0, subprocess.run, args=(start,), kwargs={"check": True}).start()
                attempts, statuses = _send_until_accepted(url, token, _bundle("stream", size, start=b * size))
                retried += attempts - 1
                assert len(statuses) == size and all(s.startswith(("200", "201")) for s in statuses), statuses
        with psycopg.connect(database_url) as db:
            query = sql.SQL("SELECT count(*), count(DISTINCT dedup_key) FROM {} WHERE dedup_key LIKE %s")
            table = sql.Identifier(Measurement._meta.db_table)
            total, distinct = db.execute(query.format(table), ["%stream-%"]).fetchone() or (0, 0)
    assert total == distinct == bundles * size
    assert retried >= 1, "the restart did not interrupt the stream: nothing was tested"
