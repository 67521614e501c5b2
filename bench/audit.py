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
import shutil
import subprocess
import sys
import tempfile
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
    os.environ["DEBUG"] = "false"  # no query log: time what production runs (bench/common.py)
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


def timed_in_blocks(
    calls: dict[str, Callable[[int], Any]], n: int, blocks: int = 10, warmup: int = 20
) -> dict[str, dict[str, float]]:
    """`timed` for several calls, `n` each, in blocks taken in turns (the first of a turn changing
    every turn), so that what the machine does meanwhile falls on each of them alike: measured one
    after the other, the write's ratio to its floor read 2x in one run and 6x in the next (the
    floor's p95 0.2 to 0.65 ms). Blocks rather than single calls in turns: a bare INSERT right
    after a record_event read 0.25 ms p50 against 0.16 after another INSERT, and a floor raised
    that way would flatter the ratio."""
    names = list(calls)
    for name in names:
        for i in range(warmup):
            calls[name](i)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for block in range(blocks):
        for name in names if block % 2 == 0 else reversed(names):
            for i in range(block * n // blocks, (block + 1) * n // blocks):  # n in all, whatever n
                start = time.perf_counter()
                calls[name](i)
                samples[name].append((time.perf_counter() - start) * 1000)
    return {name: percentiles(taken) for name, taken in samples.items()}


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
    # The write and its floor in blocks taken in turns: their ratio is a target (bench/targets.py).
    paired = timed_in_blocks({"floor": floor, "write": write}, n_writes)
    return [
        ("floor: bare one-row INSERT + COMMIT", paired["floor"], 0.0),
        ("record_event (one lookup, committed)", paired["write"], writes),
        ("search by patient, municipality auditor", timed(find(local, own), n_searches), searches),
        ("search by patient, service auditor", timed(find(service, anyone), n_searches), searches),
        ("search_log by patient (incl. its record)", timed(find_logged, n_searches), searches),
    ]


def _pgbench_latencies(pgbench: str, script: Path, seconds: float, logs: Path, label: str) -> list[float]:
    """One pgbench client running `script` for `seconds`; each transaction's latency in ms."""
    from django.db import connection

    db = connection.settings_dict
    prefix = logs / f"log-{label}"
    command = [pgbench, "-n", "-c", "1", "-T", str(max(1, round(seconds))), "-l", f"--log-prefix={prefix}"]
    command += ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"] or "postgres"]
    env = {**os.environ, **({"PGPASSWORD": db["PASSWORD"]} if db.get("PASSWORD") else {})}
    subprocess.run([*command, "-f", str(script), db["NAME"]], check=True, capture_output=True, env=env)
    taken = []
    for log in logs.glob(f"log-{label}.*"):
        taken += [int(line.split()[2]) / 1000 for line in log.read_text().splitlines() if line.strip()]
        log.unlink()
    return taken


def _literal(value: Any) -> str:
    from django.db import connection
    from psycopg import sql

    return sql.Literal(value).as_string(connection.connection)


def database_alone(seconds: float = 12.0, blocks: int = 4) -> dict[str, dict[str, float]] | None:
    """The record's own statements with no Python at all, against a bare INSERT + COMMIT sent the
    same way: what the database alone needs for a record, the lowest ratio any client could reach.

    pgbench (PostgreSQL's C client, from Debian's postgresql package) sends what `_write_committed`
    sends in its one message: BEGIN, the chain's lock, the record with its municipality rows
    (`_append_sql`, its plan cached in a PL/pgSQL function as the prepared statement is), COMMIT.
    The values are a lookup's record as `record_event` makes it; the record goes into copies of
    the log's tables in a schema of this benchmark's own (the same columns, indexes and
    constraints, and the last 20,000 records), so the log itself is not touched. The head guard
    holds by construction (the guess is always right), and the hash is a fresh random value.
    None when pgbench is not installed."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        return None
    from django.db import connection

    from sharing.audit.actions import _LOCK_SQL, _STORED, GENESIS_HASH, _append_sql
    from sharing.audit.models import AuditEvent, AuditEventMunicipality

    event, municipality = AuditEvent._meta.db_table, AuditEventMunicipality._meta.db_table
    record = AuditEvent.objects.filter(event="patient.lookup").values(*_STORED).order_by("-id").first() or {}
    head = f"coalesce((SELECT hash FROM h), '{GENESIS_HASH}')"  # noqa: S608 - a constant
    fresh = {"hash": "md5(random()::text) || md5(random()::text)", "prev_hash": head, "occurred_at": "now()"}
    values = [
        fresh.get(name) or _literal(json.dumps(record[name]) if name == "data" else record[name]) for name in _STORED
    ]
    values += [head, _literal(["311111019", "312222019"])]  # the guard (always right), two municipalities
    parts = _append_sql().split("%s")
    statement = parts[0] + "".join(value + part for value, part in zip(values, parts[1:], strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DROP SCHEMA IF EXISTS bench_alone CASCADE; CREATE SCHEMA bench_alone; "  # noqa: S608 - the models' tables
            f"CREATE TABLE bench_alone.{event} (LIKE public.{event} INCLUDING ALL); "
            f"CREATE TABLE bench_alone.{municipality} (LIKE public.{municipality} INCLUDING ALL); "
            f"ALTER TABLE bench_alone.{municipality} ADD FOREIGN KEY (event_id) "
            f"REFERENCES bench_alone.{event} (id) DEFERRABLE INITIALLY DEFERRED; "
            f"INSERT INTO bench_alone.{event} SELECT * FROM public.{event} ORDER BY id DESC LIMIT 20000; "
            f"SELECT setval(pg_get_serial_sequence('bench_alone.{event}', 'id'), "
            f"(SELECT max(id) FROM bench_alone.{event})); ANALYZE bench_alone.{event}; "
            "CREATE FUNCTION bench_alone.append() RETURNS bigint LANGUAGE plpgsql "
            "SET search_path = bench_alone, public AS $f$ DECLARE pk bigint; found_head text; made bool; "
            f"BEGIN {statement} INTO pk, found_head, made; RETURN pk; END $f$"
        )
        cursor.execute(f"SELECT count(*) FROM bench_alone.{event}")  # noqa: S608 - the model's table
        (copied,) = cursor.fetchone()
    with tempfile.TemporaryDirectory() as work:
        logs = Path(work)
        scripts = {"floor": logs / "floor.sql", "record": logs / "record.sql"}
        scripts["floor"].write_text("""INSERT INTO bench_floor (payload) VALUES ('{"count": 30}');\n""")
        # `\\;` joins the statements into one message, as the portal sends them.
        scripts["record"].write_text(f"BEGIN \\; {_LOCK_SQL.rstrip(';')} \\; SELECT bench_alone.append() \\; COMMIT;\n")
        taken: dict[str, list[float]] = {name: [] for name in scripts}
        for block in range(blocks):  # in turns, as the Python side (timed_in_blocks)
            for name in scripts if block % 2 == 0 else reversed(scripts):
                taken[name] += _pgbench_latencies(pgbench, scripts[name], seconds / blocks / 2, logs, name)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM bench_alone.{event}")  # noqa: S608 - the model's table
        (after,) = cursor.fetchone()
        cursor.execute("DROP SCHEMA bench_alone CASCADE")
    if after - copied != len(taken["record"]):  # each timed transaction must have written its record
        raise RuntimeError(f"{len(taken['record'])} records timed, {after - copied} written")
    return {name: percentiles(samples) for name, samples in taken.items()}


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


def report_alone(alone: dict[str, dict[str, float]] | None) -> None:
    """The database's own part of a record (`database_alone`), in the table's format, without a target."""
    if alone is None:
        print("database alone: skipped (pgbench is not installed)")
        return
    for name, stats in (("bare INSERT + COMMIT", alone["floor"]), ("the record's statements", alone["record"])):
        numbers = f"{stats['p50']:8.2f} {stats['p95']:8.2f} {stats['p99']:8.2f}"
        print(f"{'database alone: ' + name:44} {numbers} {'-':>11}  yes")
    ratio = alone["record"]["p95"] / alone["floor"]["p95"]
    print(f"database alone (pgbench, no Python): the record's statements are {ratio:.2f}x the bare INSERT at p95")


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
        report_alone(database_alone())
        if args.verify:
            verify()
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(original, verbosity=0)
    if args.strict and not met:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
