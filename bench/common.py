"""Shared parts of the benchmarks: the database, devidp, gunicorn, timing and the table.

Benchmarks run against PostgreSQL (BENCH_DATABASE_URL, default the `maaledata_bench` database
on 127.0.0.1) with gunicorn on loopback, and compare each number with a floor measured in the
same run, so a ratio holds on a noisy machine where an absolute number would not.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/maaledata_bench"


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def setup_django() -> None:
    os.environ["DATABASE_URL"] = database_url()
    # What production runs: DEBUG on (the settings' default outside production) logs every query
    # on the cursor, which the in-process timings (the lookup limit's check) would include.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "p50": round(pick(0.50), 2),
        "p95": round(pick(0.95), 2),
        "p99": round(pick(0.99), 2),
        "mean": round(statistics.fmean(ordered), 2),
        "n": len(ordered),
    }


def time_calls(call: Callable[[], Any], n: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of one process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


@dataclass
class Services:
    issuer: str
    keys_dir: Path
    portal_url: str
    gunicorn: subprocess.Popen[bytes]

    def max_worker_rss(self) -> float:
        return max((rss_mb(pid) for pid in worker_pids(self.gunicorn.pid)), default=0.0)


def clinician_persons(count: int) -> dict[str, Any]:
    """devidp's persons file (devidp/persons.json) plus `count` physicians at Lovisenberg, `soak-1`,
    `soak-2`, …: each a person of their own (synthetic Tenor pid, HPR number, level 4), so that a
    load test has one identity per simulated clinician and the lookup limit can stay on."""
    import json
    import random

    from sharing.identifiers import is_valid_national_id

    rng = random.Random(23)  # noqa: S311 - synthetic test identities
    document: dict[str, Any] = json.loads((ROOT / "devidp" / "persons.json").read_text())
    taken = {p["pid"] for p in document["persons"]}
    for n in range(1, count + 1):
        while True:
            stem = (
                f"{rng.randint(1, 28):02d}{rng.randint(81, 92):02d}{rng.randint(50, 99):02d}{rng.randint(0, 499):03d}"
            )
            pid = next((stem + f"{c:02d}" for c in range(100) if is_valid_national_id(stem + f"{c:02d}")), "")
            if pid and pid not in taken:
                taken.add(pid)
                break
        document["persons"].append(
            {
                "id": f"soak-{n}",
                "pid": pid,
                "name": f"Lege Last{n}",
                "given_name": "Lege",
                "family_name": f"Last{n}",
                "description": "Simulert kliniker for lasttest.",
                # As HelseID: no organisation on the person (the portal's memberships say where
                # they work: `add_soak_members`); an authorisation as physician from HPR.
                "hpr_number": str(900000000 + n),
                "security_level": "4",
                "hpr_details": {
                    "approvals": [
                        {
                            "profession": "LE",
                            "authorization": {"value": "1", "description": "Autorisasjon", "valid_from": "2010-08-01"},
                            "description": "Lege",
                        }
                    ]
                },
            }
        )
    return document


def add_soak_members(persons: dict[str, Any]) -> int:
    """Register the simulated clinicians as members of Lovisenberg's medical unit (as its own
    organisation admin would), so each acts for it after login; returns how many were added."""
    import datetime as dt

    from devdata import demo
    from sharing.access.members import add_member
    from sharing.access.models import Membership
    from sharing.agreements.models import Organisation

    hospital = Organisation.objects.get(orgnr=demo.LOVISENBERG)
    unit = Organisation.objects.filter(parent=hospital).order_by("orgnr").first()
    added = 0
    for person in persons["persons"]:
        if person["id"].startswith("soak-") and not Membership.objects.filter(pid=person["pid"]).exists():
            add_member(
                organisation=hospital,
                unit=unit,
                pid=person["pid"],
                hpr_number=person["hpr_number"],
                valid_from=dt.date(2020, 1, 1),
                valid_to=None,
                by=demo.SEEDER,
            )
            added += 1
    return added


@contextmanager
def services(
    workers: int = 2, env: dict[str, str] | None = None, persons: dict[str, Any] | None = None
) -> Iterator[Services]:
    """devidp (with `persons`, else its own test persons) and gunicorn on loopback, pointed at the
    benchmark database."""
    import json

    from portal.login.devclient import run_devidp
    from portal.login.devsetup import write_clients_file

    work = Path(tempfile.mkdtemp(prefix="bench-"))
    port = free_port()
    portal_url = f"http://127.0.0.1:{port}"
    clients = write_clients_file(path=work / "clients.json", keys_dir=work / "keys", portal_urls=[portal_url])
    idp_env = {}
    if persons is not None:
        (work / "persons.json").write_text(json.dumps(persons, ensure_ascii=False))
        idp_env["DEVIDP_PERSONS_FILE"] = str(work / "persons.json")
    with run_devidp(clients_file=clients, log=work / "devidp.log", root=ROOT, env=idp_env) as (issuer, _idp):
        yield from _with_gunicorn(issuer, work, port, portal_url, workers, env)


def _with_gunicorn(
    issuer: str, work: Path, port: int, portal_url: str, workers: int, env: dict[str, str] | None
) -> Iterator[Services]:
    app_env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "OIDC_ISSUER": issuer,
        "OIDC_RP_PRIVATE_KEY_FILE": str(work / "keys" / "portal.pem"),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        # One test person makes thousands of lookups an hour here, so the hourly lookup limit is
        # off: on, it would refuse them, and with a ceiling that high its count (which stops at the
        # limit, 200 by default) would grow with every run in the hour. bench/search.py times the
        # limit's check by itself at its worst case, a person at the default limit.
        "LOOKUP_RATE_LIMIT_PER_HOUR": "0",
        **(env or {}),
    }
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=app_env,
        stderr=(work / "gunicorn.log").open("w"),
    )
    try:
        _wait_for(f"{portal_url}/fhir/metadata")
        yield Services(issuer, work / "keys", portal_url, gunicorn)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=20)


def _wait_for(url: str, seconds: float = 30) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def log_in(portal: str, person: str = "ingrid-berg") -> Any:
    """The whole HelseID login over real HTTP; returns the requests session holding the portal's cookies."""

    import requests

    http = requests.Session()
    response = http.get(f"{portal}/oidc/authenticate/", allow_redirects=True, timeout=30)
    if "/interaction/" not in response.url:
        raise RuntimeError(f"devidp did not show its login page: {response.url}")
    uid = urlsplit(response.url).path.rstrip("/").split("/")[-1]
    issuer = f"{urlsplit(response.url).scheme}://{urlsplit(response.url).netloc}"
    done = http.post(f"{issuer}/interaction/{uid}/login", data={"person": person}, allow_redirects=True, timeout=30)
    if done.status_code != 200 or not done.url.startswith(portal):
        raise RuntimeError(f"login failed: {done.status_code} {done.url}")
    return http


def print_table(rows: list[dict[str, Any]]) -> None:
    """One line per scenario with its target (bench/targets.py) and whether it was met, by the ratio
    to the floor measured in the same run and by the absolute number for the standard machine."""
    from bench.targets import met_text, verdict

    if not rows:
        print("(no scenarios run)")
        return
    for row in rows:
        judged = verdict(row)
        if judged:
            row.update(judged)
            row["met"] = judged["met_ratio"] is not False and judged["met_absolute"] is not False
    headers = ["scenario", "p50 ms", "p95 ms", "p99 ms", "rate", "floor", "ratio", "target", "by ratio", "absolute"]
    table = [
        [str(r.get(k, "")) for k in ("scenario", "p50", "p95", "p99", "rate", "floor", "ratio", "target")]
        + [met_text(r.get("met_ratio")), met_text(r.get("met_absolute"))]
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
