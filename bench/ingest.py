"""Ingest: batch Bundles of 1,000 VkpObservations POSTed over HTTP to gunicorn (2 workers) on PostgreSQL.

Ceiling, measured in the same run: fhir.resources (R4B) parsing the same Bundles' Observations
in as many processes as gunicorn has workers, with no HTTP, no checks and no database. The
ratio says how much of that ceiling the whole ingest path keeps. Targets: bench/targets.py ("ingest").

Run: BENCH_DATABASE_URL=postgres://... python bench/ingest.py (DATABASE_URL is used when
BENCH_DATABASE_URL is not set). The database is migrated; the rows this run stores are
removed at the end, so other scenarios' data stays as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "BENCH_DATABASE_URL" not in os.environ and os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["BENCH_DATABASE_URL"] = os.environ["DATABASE_URL"]

from bench import common  # noqa: E402

BUNDLES = int(os.environ.get("BENCH_INGEST_BUNDLES", "24"))
PER_BUNDLE = 1000
WORKERS = 2
CLIENTS = int(os.environ.get("BENCH_INGEST_CLIENTS", "4"))  # concurrent senders, so no worker waits
FHIR_JSON = "application/fhir+json"
PATIENTS = 60
KINDS = {  # kind -> (low, high) of a plausible reading
    "heart_rate": (55, 110),
    "oxygen_saturation": (88, 99),
    "body_weight": (55, 120),
    "body_temperature": (36.0, 38.5),
    "glucose": (4.0, 14.0),
    "respiratory_rate": (10, 24),
    "blood_pressure": (0, 0),
}
OSLO = "311111019"
BENCH_ID = "urn:ietf:rfc:3986|urn:uuid:bench-"  # sharing.fhir.build writes identifiers so


def build_bundles(run: str, count: int, seed: int = 7) -> list[bytes]:
    """``count`` batch Bundles of 1,000 realistic Observations: several patients and kinds."""
    from devdata.generate import synthetic_fnr
    from sharing.fhir.build import observation

    rng = random.Random(seed)  # noqa: S311 - synthetic benchmark data
    patients = [synthetic_fnr(rng) for _ in range(PATIENTS)]
    now = dt.datetime.now(dt.UTC)
    bodies = []
    for b in range(count):
        entries = []
        for i in range(PER_BUNDLE):
            kind = rng.choice(list(KINDS))
            low, high = KINDS[kind]
            reading: dict[str, Any] = (
                {"systolic": rng.randint(105, 170), "diastolic": rng.randint(60, 100)}
                if kind == "blood_pressure"
                else {"value": round(rng.uniform(low, high), 1)}
            )
            resource = observation(
                kind=kind,
                patient=rng.choice(patients),
                patient_name="Bench Testperson",
                effective=now - dt.timedelta(minutes=rng.randrange(1, 60 * 24 * 30)),
                municipality_orgnr=OSLO,
                identifier=f"bench-{run}-{b}-{i}",
                **reading,
            )
            request = {"method": "POST", "url": "Observation"}
            entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": resource, "request": request})
        bodies.append(json.dumps({"resourceType": "Bundle", "type": "batch", "entry": entries}).encode())
    return bodies


def _parse_only(bodies: list[bytes]) -> int:
    """What fhir.resources alone costs: parse each Bundle and validate each Observation (R4B)."""
    from fhir.resources.R4B.observation import Observation

    parsed = 0
    for body in bodies:
        for item in json.loads(body)["entry"]:
            Observation.model_validate(item["resource"])
            parsed += 1
    return parsed


def parse_ceiling(bodies: list[bytes], processes: int = WORKERS) -> float:
    """Observations per second that ``processes`` processes parse, the same Bundles split between them."""
    shares = [bodies[i::processes] for i in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(_parse_only, [s[:1] for s in shares]))  # warm: imports and model build
        start = time.perf_counter()
        total = sum(pool.map(_parse_only, shares))
        return total / (time.perf_counter() - start)


def system_token(svc: common.Services, client_id: str = "vkp-oslo") -> str:
    import requests
    from django.conf import settings

    from portal.login.helseid import CLIENT_ASSERTION_TYPE, _load_key, client_assertion

    key = _load_key((svc.keys_dir / f"{client_id}.pem").read_text())
    response = requests.post(
        f"{svc.issuer}/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "scope": settings.FHIR_SCOPE_OBSERVATION_WRITE,
            "resource": settings.FHIR_API_AUDIENCE,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": client_assertion(client_id=client_id, key=key, audience=svc.issuer),
        },
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def post_all(url: str, token: str, bodies: list[bytes], clients: int) -> tuple[float, list[float], int]:
    """Seconds for all Bundles, each Bundle's latency (ms), and the entries answered 201."""
    import requests

    headers = {"Authorization": f"Bearer {token}", "Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    local = threading.local()

    def send(body: bytes) -> tuple[float, int]:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        start = time.perf_counter()
        response = session.post(url, data=body, headers=headers, timeout=300)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"Bundle answered {response.status_code}: {response.text[:300]}")
        created = sum(e["response"]["status"].startswith("201") for e in response.json()["entry"])
        return elapsed, created

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(send, bodies))
    return time.perf_counter() - start, [a[0] for a in answers], sum(a[1] for a in answers)


def main(bundles: int = BUNDLES, clients: int = CLIENTS) -> dict[str, Any]:
    common.setup_django()
    from django.core.management import call_command

    from devdata import demo
    from sharing.measurements.models import Measurement

    call_command("migrate", verbosity=0)
    demo.seed_organisations()
    run = uuid.uuid4().hex[:8]
    warm, timed = build_bundles(f"{run}w", 2, seed=1), build_bundles(run, bundles)
    try:
        # The ceiling is measured before and after and averaged: on a shared machine the load
        # moves, and the ratio should not depend on when it moved.
        before = parse_ceiling(timed)
        with common.services(workers=WORKERS) as svc:
            token = system_token(svc)
            post_all(svc.portal_url + "/fhir", token, warm, clients)  # warm the workers and their connections
            seconds, latencies, created = post_all(svc.portal_url + "/fhir", token, timed, clients)
            rss = svc.max_worker_rss()
        ceiling = (before + parse_ceiling(timed)) / 2
    finally:
        # Only this run's rows go; PatientSource rows stay (another scenario may share a patient).
        ours = Measurement.objects.filter(source_orgnr=OSLO, dedup_key__startswith=f"identifier:{BENCH_ID}{run}")
        patients = len(set(ours.values_list("patient_value", flat=True)))
        ours.delete()
    total = bundles * PER_BUNDLE
    if created != total:
        raise RuntimeError(f"only {created} of {total} observations were stored")
    rate = total / seconds
    stats = common.percentiles(latencies)
    result = {
        "scenario": f"ingest: batch of {PER_BUNDLE}, {WORKERS} workers (obs/s)",
        **stats,
        "rate": round(rate),
        "floor": round(ceiling),
        "key": "ingest",
        "observations": total,
        "bundles": bundles,
        "clients": clients,
        "worker_rss_mb": rss,
        "patients": patients,
    }
    common.print_table([result])
    print(
        f"{total} observations in {bundles} Bundles over {clients} connections: {rate:.0f} obs/s "
        f"(fhir.resources parse-only ceiling {ceiling:.0f} obs/s in {WORKERS} processes, ratio {rate / ceiling:.2f}); "
        f"per Bundle p50 {stats['p50']} ms, p95 {stats['p95']} ms; worker RSS {rss} MB."
    )
    return result


if __name__ == "__main__":
    main()
