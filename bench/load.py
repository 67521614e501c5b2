"""Load: 50 simulated clinicians browsing patients and a steady ingest stream, against gunicorn.

    make soak            # or: .venv/bin/python bench/load.py --seconds 60 --clinicians 50

Creates a scratch PostgreSQL database (SOAK_DATABASE_URL, default `maaledata_soak` on 127.0.0.1,
dropped and made anew), migrates it and seeds the demo (organisations, agreements, three patients
with 90 days of data). Starts devidp and gunicorn on loopback (bench/common.py), logs in
`--clinicians` sessions through the real HelseID flow (devidp), then runs locust as a library for
`--seconds`:

- each clinician: search page → look up one of the demo patients (POST, CSRF token) → patient
  page → one kind's chart page, with 1–3 s of thinking between steps;
- VKP Oslo's system client: batch Bundles of 10 new observations at a constant rate
  (`--bundles-per-second`), over its client-credentials token.

The clinicians arrive over `--ramp-seconds` (default 10: five a second), as a department's
people do, not all in the same millisecond; the statistics are reset once all of them are in, so
the table is `--seconds` at full load. Every response must be 2xx/3xx as expected; any other is
an error, and so is a stream whose stored measurements are fewer than it was answered 201 for
(lost) or more than it sent (stored twice). Prints one table (requests, errors, p50/p95/p99,
rate) with issue 21's targets under this load (patient page p95 <= 100 ms, lookup p95 <= 150 ms;
bench/targets.py, "soak_page" and "soak_lookup") and saves it to var/soak/latest.json.
Exits 1 on any error. Each simulated clinician logs in as a devidp person of their own
(bench/common.clinician_persons), so the hourly lookup limit stays on at its default (200 per
person; `--lookup-limit`), as in production.
"""

from __future__ import annotations

# locust patches the standard library with gevent: import it before anything opens a socket.
from locust import HttpUser, between, constant_throughput, events, task  # isort: skip
from locust.env import Environment  # isort: skip

import argparse
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import gevent
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SOAK_URL = os.environ.get("SOAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/maaledata_soak")
os.environ["BENCH_DATABASE_URL"] = SOAK_URL

from bench import common  # noqa: E402
from bench.targets import TARGETS, met_text  # noqa: E402

PATIENTS = ("30875928763", "14904839826", "02923712995")
KINDS = {"30875928763": "heart_rate", "14904839826": "oxygen_saturation", "02923712995": "glucose"}
# Issue 21's targets under this load (bench/targets.py), by the scenario's name in the table.
SOAK_TARGETS = {"patient page": "soak_page", "search (lookup)": "soak_lookup"}
BUNDLE_SIZE = 10


def _psql(sql: str) -> None:
    parts = urlsplit(SOAK_URL)
    admin = parts._replace(path="/postgres").geturl()
    subprocess.run(["psql", admin, "-q", "-c", sql], check=True, capture_output=True)  # noqa: S603, S607


def prepare_database() -> None:
    name = urlsplit(SOAK_URL).path.lstrip("/")
    if not re.fullmatch(r"maaledata_\w+", name):
        raise SystemExit(f"Refusing to recreate {name!r}: the soak database's name must start with maaledata_.")
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": SOAK_URL}
    for args in (["migrate", "--no-input", "-v", "0"], ["seed_demo", "--days", "90"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603


def system_token(issuer: str, keys_dir: Path, client_id: str = "vkp-oslo") -> str:
    from django.conf import settings

    from portal.login.helseid import CLIENT_ASSERTION_TYPE, _load_key, client_assertion

    key = _load_key((keys_dir / f"{client_id}.pem").read_text())
    response = requests.post(
        f"{issuer}/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "scope": settings.FHIR_SCOPE_OBSERVATION_WRITE,
            "resource": settings.FHIR_API_AUDIENCE,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": client_assertion(client_id=client_id, key=key, audience=issuer),
        },
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def bundle(now: dt.datetime) -> dict[str, Any]:
    from sharing.fhir.build import observation

    entries = []
    for _ in range(BUNDLE_SIZE):
        resource = observation(
            kind="heart_rate",
            patient=random.choice(PATIENTS),  # noqa: S311 - test data
            patient_name="Soak",
            effective=now - dt.timedelta(seconds=random.randint(1, 3600)),  # noqa: S311
            value=random.randint(50, 110),  # noqa: S311
            municipality_orgnr="311111019",
            identifier=str(uuid.uuid4()),
        )
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": resource,
                "request": {"method": "POST", "url": "Observation"},
            }
        )
    return {"resourceType": "Bundle", "type": "batch", "entry": entries}


SESSIONS: list[requests.Session] = []
SETTINGS: dict[str, Any] = {}
# Observations the stream sent, and those whose Bundle came back with every entry 201: what the
# database holds afterwards must lie between the two (a Bundle in flight when the run stops may be
# stored without its answer being read).
STREAM = {"sent": 0, "acknowledged": 0}


class Clinician(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.cookies.update(SESSIONS.pop().cookies)

    @task
    def browse(self) -> None:
        patient = random.choice(PATIENTS)  # noqa: S311
        self.client.get("/", name="search page")
        token = self.client.cookies.get("csrftoken") or self.client.cookies.get("__Host-csrftoken", "")
        form = {"national_id": patient, "basis": "care", "reason": "Innlagt", "csrfmiddlewaretoken": token}
        with self.client.post("/", data=form, name="search (lookup)", allow_redirects=False, catch_response=True) as r:
            if r.status_code != 302 or "/pasient/" not in r.headers.get("Location", ""):
                r.failure(f"lookup: {r.status_code}")
                return
            page = urljoin("/", r.headers["Location"])
        gevent.sleep(random.uniform(1, 3))  # noqa: S311
        self.client.get(page, name="patient page")
        gevent.sleep(random.uniform(1, 3))  # noqa: S311
        self.client.get(f"{page}{KINDS[patient]}/", name="chart page")


class VkpSystem(HttpUser):
    fixed_count = 1
    wait_time = constant_throughput(1)

    @task
    def send(self) -> None:
        import django.utils.timezone as tz

        STREAM["sent"] += BUNDLE_SIZE
        with self.client.post(
            "/fhir",
            data=json.dumps(bundle(tz.now())),
            headers={
                "Authorization": f"Bearer {SETTINGS['token']}",
                "Content-Type": "application/fhir+json",
                "Accept": "application/fhir+json",
            },
            name="ingest Bundle (10 obs)",
            catch_response=True,
        ) as r:
            statuses = [e.get("response", {}).get("status", "") for e in r.json().get("entry", [])] if r.ok else []
            if r.status_code != 200 or not all(s.startswith("201") for s in statuses) or len(statuses) != BUNDLE_SIZE:
                r.failure(f"ingest: {r.status_code} {statuses[:3]}")
            else:
                STREAM["acknowledged"] += BUNDLE_SIZE


def report(env: Environment, seconds: float, clinicians: int) -> dict[str, Any]:
    rows = []
    for entry in sorted(env.stats.entries.values(), key=lambda e: e.name):
        p95 = entry.get_response_time_percentile(0.95)
        target = TARGETS[SOAK_TARGETS[entry.name]] if entry.name in SOAK_TARGETS else None
        rows.append(
            {
                "scenario": entry.name,
                "requests": entry.num_requests,
                "errors": entry.num_failures,
                "p50": entry.get_response_time_percentile(0.50),
                "p95": p95,
                "p99": entry.get_response_time_percentile(0.99),
                "rate": f"{entry.num_requests / seconds:.1f}/s",
                "target": target.text() if target else "",
                "met": met_text(p95 <= (target.ms or 0)) if target else "",
            }
        )
    total = env.stats.total
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": seconds,
        "clinicians": clinicians,
        "requests": total.num_requests,
        "errors": total.num_failures,
        "error_detail": _errors(env),
        "rows": rows,
    }


def _errors(env: Environment) -> list[str]:
    return [f"{e.name}: {e.error} ×{e.occurrences}" for e in env.stats.errors.values()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="at full load, after the ramp (default 60)")
    parser.add_argument("--ramp-seconds", type=float, default=10, help="over which the clinicians arrive (default 10)")
    parser.add_argument("--clinicians", type=int, default=50)
    parser.add_argument("--bundles-per-second", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--lookup-limit", type=int, default=200, help="LOOKUP_RATE_LIMIT_PER_HOUR for the run (0: off)")
    args = parser.parse_args()
    VkpSystem.wait_time = constant_throughput(args.bundles_per_second)

    print(f"Preparing {urlsplit(SOAK_URL).path.lstrip('/')} (migrate, demo data)…", flush=True)
    prepare_database()
    common.setup_django()
    # As in production: the hourly lookup limit on (its default), each simulated clinician a
    # person of their own at devidp, and each login's token request with a DPoP proof that answers
    # devidp's nonce (docs/security.md, "Load and fuzzing").
    env_extra = {"LOOKUP_RATE_LIMIT_PER_HOUR": str(args.lookup_limit)}
    persons = common.clinician_persons(args.clinicians)
    common.add_soak_members(persons)
    with common.services(workers=args.workers, env=env_extra, persons=persons) as svc:
        print(f"gunicorn ({args.workers} workers) at {svc.portal_url}; logging in {args.clinicians} clinicians…")
        SESSIONS.extend(common.log_in(svc.portal_url, f"soak-{n}") for n in range(1, args.clinicians + 1))
        SETTINGS["token"] = system_token(svc.issuer, svc.keys_dir)
        env = Environment(user_classes=[Clinician, VkpSystem], host=svc.portal_url, events=events)
        runner = env.create_local_runner()
        users = args.clinicians + 1
        runner.start(users, spawn_rate=users / args.ramp_seconds if args.ramp_seconds > 0 else users)
        deadline = time.monotonic() + args.ramp_seconds + 30
        while runner.user_count < users:  # the ramp: not in the table
            if time.monotonic() > deadline:
                raise SystemExit(f"Only {runner.user_count} of {users} users started within the ramp.")
            gevent.sleep(0.1)
        ramp = env.stats.total.num_requests, env.stats.total.num_failures, _errors(env)
        env.stats.reset_all()
        started = time.monotonic()
        gevent.sleep(args.seconds)
        runner.quit()
        elapsed = time.monotonic() - started
        rss = svc.max_worker_rss()
    result = report(env, elapsed, args.clinicians)
    result["ramp"] = {"seconds": args.ramp_seconds, "requests": ramp[0], "errors": ramp[1]}
    result["errors"] += ramp[1]  # an error during the ramp fails the run all the same
    result["error_detail"] = [*(f"(ramp) {e}" for e in ramp[2]), *result["error_detail"]]
    result["max_worker_rss_mb"] = rss
    stored = _stored_measurements()
    result["ingested"] = stored
    result["stream"] = dict(STREAM)
    if not STREAM["acknowledged"] <= stored <= STREAM["sent"]:  # lost, or stored twice
        result["errors"] += 1
        result["error_detail"].append(
            f"stream: {stored} measurements stored, {STREAM['acknowledged']} acknowledged, {STREAM['sent']} sent"
        )
    out = ROOT / "var" / "soak"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    _print(result)
    return 1 if result["errors"] or not result["requests"] else 0


def _stored_measurements() -> int:
    from sharing.measurements.models import Measurement

    return Measurement.objects.filter(patient_display="Soak").count()


def _print(result: dict[str, Any]) -> None:
    cols = ["scenario", "requests", "errors", "p50", "p95", "p99", "rate", "target", "met"]
    table = [[str(r[c]) for c in cols] for r in result["rows"]]
    widths = [max(len(c), *(len(row[i]) for row in table)) for i, c in enumerate(cols)]
    print(f"\nSoak: {result['clinicians']} clinicians + ingest for {result['seconds']:.0f} s ({result['when']})")
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for row in table:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    ramp = result["ramp"]
    print(f"before it, the ramp: {ramp['requests']} requests over {ramp['seconds']:g} s, {ramp['errors']} errors")
    print(f"total {result['requests']} requests, {result['errors']} errors; ", end="")
    stream = result["stream"]
    print(
        f"measurements stored by the stream: {result['ingested']} ({stream['acknowledged']} acknowledged, "
        f"{stream['sent']} sent); max worker RSS {result['max_worker_rss_mb']} MB"
    )
    for line in result["error_detail"]:
        print("  error:", line)


if __name__ == "__main__":
    sys.exit(main())
