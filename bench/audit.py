"""The access log's costs: writing one record per lookup, and an auditor's search by patient.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/maaledata python bench/audit.py [--records N]

It never touches the database DATABASE_URL names: it creates (or, with --keep, reuses) a
database of its own beside it, `<name>_auditbench`, migrates it, and loads N synthetic records
(default 1,000,000; a valid hash chain, COPY in batches) spread over two years, 60 municipalities
and 6,000 patients. Then it times, in this order:

- `record_event` as a lookup calls it (its own transaction and commit), against the floor, a bare
  one-row INSERT + COMMIT: target in bench/targets.py;
- the auditor's search by patient, first page (`search` + `result_page`), as a municipality's
  auditor and as the service auditor: target p95 <= 50 ms (bench/targets.py);
- the same through `search_log`, which also writes the auditor's own record.

Prints p50/p95/p99 per scenario; with --strict, exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MUNICIPALITIES = [f"3{n:02d}111019" for n in range(60)]  # synthetic, 9 digits; index 0 is the busiest
PATIENTS = 6000
ACTORS = 1500
EVENTS = ("patient.lookup", "patient.view", "patient.view", "patient.export", "api.search", "api.read")
BATCH = 50_000


def columns() -> tuple[str, ...]:
    """The audit table's columns, from the chain's own field list (Django must be set up)."""
    from sharing.audit.actions import CHAINED_FIELDS, OPTIONAL_CHAINED_FIELDS

    return ("id", *CHAINED_FIELDS, *OPTIONAL_CHAINED_FIELDS, "hash")


def setup(keep: bool) -> str:
    """Django on a database of the benchmark's own; returns the name DATABASE_URL gave."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("Set DATABASE_URL (PostgreSQL); the benchmark creates its own database beside it.")
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("The audit benchmark runs on PostgreSQL.")
    database = settings.DATABASES["default"]
    original = str(database["NAME"])
    database["TEST"] = {**database.get("TEST", {}), "NAME": f"{original}_auditbench"}
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keep)
    return original


def patient_of(n: int) -> str:
    return f"{10000000000 + n * 7919 % 89999999999:011d}"


def municipality_of(patient: int) -> int:
    # A few large municipalities, many small: about a fifth of all patients live in the first.
    return 0 if patient % 5 == 0 else 1 + patient % (len(MUNICIPALITIES) - 1)


def _rows(n: int, start: dt.datetime, step: dt.timedelta, places: array) -> Iterator[tuple[Any, ...]]:
    """The synthetic log, chained: each row's hash covers its content and the previous hash."""
    from sharing.audit.actions import GENESIS_HASH, compute_hash

    rng = random.Random(20261125)  # noqa: S311 - synthetic data
    previous = GENESIS_HASH
    names = columns()
    for i in range(1, n + 1):
        patient = rng.randrange(PATIENTS)
        actor = rng.randrange(ACTORS)
        place = municipality_of(patient)
        places.append(place)
        denied = rng.random() < 0.03
        emergency = rng.random() < 0.005
        values: dict[str, Any] = {
            "occurred_at": start + step * i,
            "event": EVENTS[rng.randrange(len(EVENTS))],
            "outcome": "denied" if denied else "granted",
            "actor_sub": f"sub-{actor:05d}",
            "actor_pid": f"{20000000000 + actor:011d}",
            "actor_hpr": f"{560000000 + actor}",
            "actor_name": f"Kliniker {actor}",
            "actor_role": "clinician",
            "org_parent": f"3{actor % 40:02d}222019",
            "org_parent_name": f"Sykehus {actor % 40}",
            "org_child": "",
            "org_child_name": "",
            "patient_system": "urn:oid:2.16.578.1.12.4.1.4.1",
            "patient_value": patient_of(patient),
            "data": {"denial": "no-agreement"}
            if denied
            else {"agreements": [place + 1], "municipalities": [MUNICIPALITIES[place]], "count": 40},
            "basis": "emergency" if emergency else "care",
            "reason": "Innlagt" if not emergency else "Akutt",
            "client_id": "maaledata-portal",
            "request_id": f"{i:032x}",
            "municipalities": MUNICIPALITIES[place],
            "prev_hash": previous,
        }
        values["hash"] = previous = compute_hash(values)
        row = dict(values, id=i, data=json.dumps(values["data"], separators=(",", ":")))
        yield tuple(row[c] for c in names)


def load(n: int) -> None:
    from django.db import connection

    from sharing.audit.models import AuditEvent

    have = AuditEvent.objects.count()
    if have >= n:
        print(f"Reusing {have:,} records in the benchmark database.")
        return
    if have:
        raise SystemExit("The kept benchmark database has too few records; run without --keep to start afresh.")
    started = time.perf_counter()
    end = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    step = dt.timedelta(days=730) / n
    places: array = array("H")
    rows = _rows(n, end - step * n, step, places)
    raw = connection.connection  # psycopg 3: COPY in batches, one transaction each
    assert raw is not None  # noqa: S101 - connected by the count above
    for first in range(1, n + 1, BATCH):
        count = min(BATCH, n + 1 - first)
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY audit_auditevent ({', '.join(columns())}) FROM STDIN") as copy:
                for _ in range(count):
                    copy.write_row(next(rows))
            with cursor.copy(
                "COPY audit_auditeventmunicipality (event_id, municipality, occurred_at) FROM STDIN"
            ) as copy:
                base = end - step * n
                for i in range(first, first + count):
                    copy.write_row((i, MUNICIPALITIES[places[i - 1]], base + step * i))
        raw.commit()
        print(f"  loaded {first + count - 1:,} / {n:,}", end="\r", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('audit_auditevent', 'id'), %s)", [n])
        cursor.execute("ANALYZE audit_auditevent")
        cursor.execute("ANALYZE audit_auditeventmunicipality")
    print(f"Loaded {n:,} records in {time.perf_counter() - started:.0f} s.          ")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99)}


def timed(call: Callable[[int], Any], n: int, warmup: int = 20) -> dict[str, float]:
    for i in range(warmup):
        call(i)
    samples = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def scenarios(n_writes: int, n_searches: int) -> list[tuple[str, dict[str, float], float]]:
    from sharing.access.auditlog import search_log
    from sharing.audit.actions import record_event
    from sharing.audit.scope import AuditScope
    from sharing.audit.search import AuditFilter, result_page, search
    from sharing.core.actor import Actor, Role

    clinician = Actor(
        sub="sub-bench",
        hpr_number="565501872",
        name="Bench Kliniker",
        orgnr_parent="312222019",
        roles=frozenset({Role.CLINICIAN}),
        client_id="maaledata-portal",
    )
    auditor = Actor(
        name="Bench Revisor", orgnr_parent=MUNICIPALITIES[0], grants=frozenset({(Role.AUDITOR, MUNICIPALITIES[0])})
    )
    local, service = AuditScope(frozenset({MUNICIPALITIES[0]})), AuditScope(None)
    from django.db import connection

    from sharing.audit.models import AuditEvent

    rng = random.Random(7)  # noqa: S311 - which patients to search for
    logged = AuditEvent.objects.exclude(patient_value="").values_list("patient_value", flat=True).distinct()
    anyone = list(logged[:3000])
    own = list(logged.filter(municipalities=MUNICIPALITIES[0])[:3000])

    def write(i: int) -> None:
        patient = rng.choice(anyone)
        data = {"agreements": [1], "municipalities": [MUNICIPALITIES[0]], "kinds": ["heart_rate"], "count": 30}
        record_event(
            event="patient.lookup",
            outcome="granted",
            by=clinician,
            patient_system="urn:oid:2.16.578.1.12.4.1.4.1",
            patient_value=patient,
            data=data,
            basis="care",
            reason="Innlagt",
        )

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, payload jsonb)")

    def floor(i: int) -> None:
        with connection.cursor() as cursor:  # autocommit: one durable commit, as record_event's
            cursor.execute("INSERT INTO bench_floor (payload) VALUES (%s)", ['{"count": 30}'])

    def find(scope: AuditScope, patients: list[str]) -> Callable[[int], None]:
        def call(i: int) -> None:
            page = result_page(search(scope, AuditFilter(patient=rng.choice(patients))), 1)
            assert page.rows  # noqa: S101 - every chosen patient has records in scope

        return call

    def find_logged(i: int) -> None:
        search_log(by=auditor, scope=local, criteria=AuditFilter(patient=rng.choice(own)))

    from bench.targets import TARGETS

    writes, searches = TARGETS["audit_write"].ms or 0.0, TARGETS["audit_search"].ms or 0.0
    return [
        ("floor: bare one-row INSERT + COMMIT", timed(floor, n_writes), 0.0),
        ("record_event (one lookup, committed)", timed(write, n_writes), writes),
        ("search by patient, municipality auditor", timed(find(local, own), n_searches), searches),
        ("search by patient, service auditor", timed(find(service, anyone), n_searches), searches),
        ("search_log by patient (incl. its record)", timed(find_logged, n_searches), searches),
    ]


def report(rows: list[tuple[str, dict[str, float], float]], records: int) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    print(f"\nAccess log benchmark over {records:,} records (PostgreSQL {version})")
    print(f"{'scenario':44} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'target p95':>11}  met")
    met_all = True
    for name, stats, target in rows:
        met = not target or stats["p95"] <= target
        met_all &= met
        goal = f"<= {target:g} ms" if target else "-"
        numbers = f"{stats['p50']:8.2f} {stats['p95']:8.2f} {stats['p99']:8.2f}"
        print(f"{name:44} {numbers} {goal:>11}  {'yes' if met else 'NO'}")
    return met_all


def verify() -> None:
    from sharing.audit.verify import verify_chain

    started = time.perf_counter()
    report = verify_chain()
    seconds = time.perf_counter() - started
    state = "intact" if report.ok else f"BROKEN at {report.first_bad_id}: {report.problem}"
    print(f"verify_audit: {report.checked:,} records in {seconds:.1f} s ({report.checked / seconds:,.0f}/s), {state}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="synthetic records to load (default 1,000,000)")
    parser.add_argument("--writes", type=int, default=1000, help="record_event calls to time")
    parser.add_argument("--searches", type=int, default=300, help="searches to time per scenario")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the benchmark database")
    parser.add_argument("--verify", action="store_true", help="also time verify_audit over the whole chain")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    original = setup(args.keep)
    from django.db import connection

    try:
        load(args.records)
        met = report(scenarios(args.writes, args.searches), args.records)
        if args.verify:
            verify()
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(original, verbosity=0)
    if args.strict and not met:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
