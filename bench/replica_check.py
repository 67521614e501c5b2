"""The portal's side of the hot-standby checks: one process, as a portal worker, through failover.

Run by tests/replica/test_standby.py (and by `make bench-replica` for its failover run) against a
pair from bench/standby.py, with the portal's settings as production would set them:

    DATABASE_URL=postgres://maaledata_app@127.0.0.1:P,127.0.0.1:S/maaledata?target_session_attrs=read-write
    REPLICA_DATABASE_URL=postgres://maaledata_app@127.0.0.1:S/maaledata
    REPLICA_SYNCHRONOUS_COMMIT=on

    python bench/replica_check.py PRIMARY_PORT STANDBY_PORT seed
    python bench/replica_check.py PRIMARY_PORT STANDBY_PORT check [routing,lag_fallback,...]
    python bench/replica_check.py PRIMARY_PORT STANDBY_PORT throughput SECONDS

Pages are fetched with Django's test client (the whole request: middleware, session, the access
decision, the one door, the audit write). What each page read made available is read back from
its audit record, over a connection of its own to the primary: that the record is there when
the page has returned is what "committed before the data left" means. Prints one JSON object of
facts (and the failover's step timings); the test asserts on them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ["DEBUG"] = "false"

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.db import DatabaseError, close_old_connections, connections  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.patient_page import _clinician  # noqa: E402
from bench.standby import OWNER, Pair  # noqa: E402
from devdata import demo  # noqa: E402
from sharing.core import replica  # noqa: E402
from sharing.fhir.ingest import normalise_for  # noqa: E402
from sharing.measurements.actions import record_measurements  # noqa: E402

PATIENT = demo.PATIENTS[0]
_batch = iter(range(1, 10_000))


def ingest(days: int = 1) -> int:
    """The ingest path (record_measurements, as the FHIR API's): new measurements for the patient."""
    batch = next(_batch)  # days of its own (the demo identifiers are per day), older than the seed's
    end = timezone.localdate() - dt.timedelta(days=1 if days == 30 else 40 + batch * days)
    resources = list(demo.patient_observations(PATIENT, days=days, end=end, seed=batch))
    now = timezone.now()
    recorded = record_measurements(
        items=[(normalise_for(r, demo.OSLO, now=now), r) for r in resources], source_orgnr=demo.OSLO
    )
    return sum(1 for r in recorded if r.outcome.name == "CREATED")


class Queries:
    """Which database each statement went to, while installed on both aliases."""

    def __init__(self) -> None:
        self.sql: dict[str, list[str]] = {"default": [], "replica": []}

    def wrapper(self, alias: str) -> Callable[..., Any]:
        def log(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            self.sql[alias].append(sql)
            return execute(sql, params, many, context)

        return log

    def on(self, alias: str, table: str) -> int:
        return sum(1 for sql in self.sql[alias] if table in sql)


@contextmanager
def queries() -> Iterator[Queries]:
    seen = Queries()
    with connections["default"].execute_wrapper(seen.wrapper("default")):
        with connections["replica"].execute_wrapper(seen.wrapper("replica")):
            yield seen


class Portal:
    pair: Pair
    client: Client
    primary_port: int

    @staticmethod
    def request_started() -> None:
        """What the WSGI handler does at the start of every request (CONN_HEALTH_CHECKS' moment);
        Django's test client leaves it out, so it is called here."""
        close_old_connections()

    def audit_head(self) -> tuple[int, str, dict[str, Any]]:
        """The newest record in the log, read over a connection of our own to the current primary."""
        with psycopg.connect(host="127.0.0.1", port=self.primary_port, user=OWNER, dbname="maaledata") as conn:
            row = conn.execute("SELECT id, event, data FROM audit_auditevent ORDER BY id DESC LIMIT 1").fetchone()
        assert row is not None
        return int(row[0]), str(row[1]), dict(row[2])

    def lookup(self) -> dict[str, Any]:
        """The portal's search for the patient; what its audit record says it made available."""
        before = self.audit_head()[0]
        self.request_started()
        response = self.client.post("/", {"national_id": PATIENT.pid, "basis": "care", "reason": "Oppfølging"})
        head, event, data = self.audit_head()
        return {
            "status": response.status_code,
            "location": response.get("Location", ""),
            "recorded": head > before and event == "patient.lookup",
            "count": data.get("count"),
        }

    def page(self, location: str) -> dict[str, Any]:
        before = self.audit_head()[0]
        self.request_started()
        response = self.client.get(location)
        head, event, data = self.audit_head()
        return {
            "status": response.status_code,
            "recorded": head > before,
            "event": event,
            "count": data.get("count"),
            "shows_patient": PATIENT.name in response.content.decode(),
        }


def _writes_record(sql: str) -> bool:
    """Whether a message writes an audit record: the insert inline, or the prepared statement
    that holds it EXECUTEd (sharing/audit/actions.py: _guess)."""
    from sharing.audit.actions import RECORD_STATEMENT_PREFIX
    from sharing.audit.models import AuditEvent

    return f"INSERT INTO {AuditEvent._meta.db_table} " in sql or f"EXECUTE {RECORD_STATEMENT_PREFIX}" in sql


def routing(portal: Portal) -> dict[str, Any]:
    """A lookup and the patient page: the measurements from the standby, decision and log on the primary."""
    replica.forget_state()
    first = portal.audit_head()[0]
    with queries() as seen:
        found = portal.lookup()
        page = portal.page(found["location"])
    return {
        "lookup": found,
        "page": page,
        "measurement_reads_on_standby": seen.on("replica", "measurements_measurement"),
        "measurement_reads_on_primary": seen.on("default", "measurements_measurement"),
        "agreement_reads_on_standby": seen.on("replica", "agreements_"),
        "agreement_reads_on_primary": seen.on("default", "agreements_"),
        # Records, not messages: a message hashed on a head that is no longer the head inserts
        # nothing (sharing/audit/actions.py: _guess), and the record is sent again.
        "audit_records_on_primary": portal.audit_head()[0] - first,
        "audit_messages_on_primary": sum(1 for s in seen.sql["default"] if _writes_record(s)),
        "audit_inserts_on_standby": sum(1 for s in seen.sql["replica"] if "INSERT INTO audit_" in s),
        "statements_on_standby_not_select": [
            s[:60] for s in seen.sql["replica"] if not s.lstrip().startswith("SELECT")
        ],
        "location": found["location"],
    }


def audit_fails(portal: Portal, location: str) -> dict[str, Any]:
    """The audit record cannot be written: the page shows nothing, though the standby was read.

    The primary refuses every statement that inserts into the log, as a full disk would, whichever
    way the log writes it."""
    from django.db import connection

    from sharing.audit.models import AuditEvent

    table = AuditEvent._meta.db_table

    def refuse(execute: Callable[..., Any], sql: str, *rest: Any) -> Any:
        if _writes_record(sql) or f'INSERT INTO "{table}"' in sql:
            raise DatabaseError("audit insert refused (test)")
        return execute(sql, *rest)

    replica.forget_state()
    before = portal.audit_head()[0]
    with queries() as seen, connection.execute_wrapper(refuse):
        portal.request_started()
        response = portal.client.get(location)
    after = portal.audit_head()[0]
    return {
        "status": response.status_code,
        "shows_patient": PATIENT.name in response.content.decode(),
        "measurement_reads_on_standby": seen.on("replica", "measurements_measurement"),
        "records_written": after - before,
    }


def lag_fallback(portal: Portal) -> dict[str, Any]:
    """Replay paused: within the bound the standby answers (without the newest); beyond it, the primary."""
    pair = portal.pair
    before = portal.lookup()["count"]
    pair.pause_replay(True)
    try:
        added = ingest()
        with override_settings(REPLICA_MAX_LAG_MS=60_000):
            replica.forget_state()
            within = replica.standby_state()
            stale = portal.lookup()["count"]
        time.sleep(0.4)
        with override_settings(REPLICA_MAX_LAG_MS=200):
            replica.forget_state()
            beyond = replica.standby_state()
            current = portal.lookup()["count"]
    finally:
        pair.pause_replay(False)
    pair.wait_caught_up()
    replica.forget_state()
    return {
        "before": before,
        "added": added,
        "within_bound": {"usable": within.usable, "lag_ms": within.lag_ms, "count": stale},
        "beyond_bound": {"usable": beyond.usable, "reason": beyond.reason, "lag_ms": beyond.lag_ms, "count": current},
    }


def write_then_read(portal: Portal) -> dict[str, Any]:
    """In one transaction: a write, then a read of the patient: the read is on the primary and sees it."""
    from django.db import transaction

    from sharing.measurements.models import Measurement

    replica.forget_state()
    before = portal.lookup()["count"]
    with queries() as seen, transaction.atomic():
        added = ingest()
        alias = replica.read_alias()
        count_in_transaction = replica.on_standby(lambda: Measurement.objects.filter(patient_value=PATIENT.pid).count())
    replica.forget_state()
    portal.pair.wait_caught_up()
    with queries() as after_commit:
        alias_after = replica.read_alias()
    return {
        "before": before,
        "added": added,
        "alias_in_writing_transaction": alias,
        "alias_after_commit": alias_after,
        "standby_statements_in_transaction": len(seen.sql["replica"]),
        "standby_statements_after": len(after_commit.sql["replica"]),
        "count_in_transaction": count_in_transaction,
        "count_after": portal.lookup()["count"],
    }


def standby_down(portal: Portal) -> dict[str, Any]:
    """The standby stops: ingest waits for it (synchronous), other writes do not; reads fall back."""
    from django.contrib.sessions.backends.db import SessionStore

    pair = portal.pair
    before = portal.lookup()["count"]
    pair.stop_standby()
    done: dict[str, Any] = {}

    def send() -> None:
        try:
            done["added"] = ingest()
        finally:
            connections.close_all()
        done["at"] = time.monotonic()

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(1.5)
    waiting = "at" not in done
    other = SessionStore()
    other.create()  # an ordinary write: not synchronous to the standby
    other_write_done = True
    released_at = time.monotonic()
    pair.set_synchronous_standby(False)  # the operator's step (docs/scaling.md)
    sender.join(30)
    replica.forget_state()
    state = replica.standby_state()
    with queries() as seen:
        found = portal.lookup()
    pair.start_standby()
    pair.set_synchronous_standby(True)
    pair.wait_caught_up()
    replica.forget_state()
    return {
        "ingest_waited_for_standby": waiting,
        "ordinary_write_done": other_write_done,
        "ingest_done_after_release_ms": round((done.get("at", 0) - released_at) * 1000, 1),
        "added": done.get("added"),
        "state": {"usable": state.usable, "reason": state.reason},
        "lookup": found,
        "before": before,
        "standby_statements": len(seen.sql["replica"]),
    }


def outage(portal: Portal, method: str, path: str) -> dict[str, Any]:
    """One request while no server accepts writes: how it was answered (portal/errors.py)."""
    portal.request_started()
    portal.client.raise_request_exception = False  # Django's 500 handler answers: see its answer
    try:
        if method == "POST":
            response = portal.client.post(path, {"national_id": PATIENT.pid, "basis": "care", "reason": "Oppfølging"})
        else:
            response = portal.client.get(path)
    except DatabaseError as exc:  # not answered at all
        return {"status": type(exc).__name__}
    finally:
        portal.client.raise_request_exception = True
    page = response.content.decode()
    return {
        "status": response.status_code,
        "retry_after": response.get("Retry-After"),
        "says_unavailable": "Tjenesten er utilgjengelig" in page,
        "shows_patient": PATIENT.name in page,
    }


def failover(portal: Portal) -> dict[str, Any]:
    """Ingest acknowledged, primary crashed, standby promoted: the measurement is there, the portal goes on."""
    pair = portal.pair
    steps: list[tuple[str, float]] = []
    t0 = time.monotonic()

    def step(name: str) -> None:
        steps.append((name, round((time.monotonic() - t0) * 1000, 1)))

    before = portal.lookup()
    added = ingest()
    step("ingest acknowledged")
    pair.crash_primary()
    step("primary crashed (pg_ctlcluster stop -m immediate)")
    during = {"lookup": outage(portal, "POST", "/"), "page": outage(portal, "GET", before["location"])}
    step("a lookup and a page while no primary is up (503)")
    pair.promote_standby()
    step("standby promoted (pg_ctlcluster promote, until pg_is_in_recovery() is false)")
    portal.primary_port = pair.standby_port
    after = portal.lookup()
    step("first lookup after promotion")
    page = portal.page(after["location"]) if after["location"] else {}
    step("patient page after promotion")
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT inet_server_port(), pg_is_in_recovery()")
        port, in_recovery = cursor.fetchone()
    return {
        "before": before["count"],
        "added": added,
        "during_outage": during,
        "after": after,
        "page": page,
        "portal_connected_to": {"port": port, "in_recovery": in_recovery},
        "steps": steps,
    }


def seed(pair: Pair) -> None:
    """The demo organisations and agreements, the clinician, and 30 days of the patient's measurements."""
    orgs = demo.seed_organisations()
    demo.seed_agreements(orgs, today=timezone.localdate())
    _clinician()
    ingest(days=30)
    if pair.has_standby():
        pair.wait_caught_up()


def ingest_load(seconds: float) -> dict[str, Any]:
    """Batches of ten days of the patient's measurements (about 180 each), one after the other."""
    stored, end = 0, time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < end:
        stored += ingest(days=10)
    return {"stored": stored, "per_second": round(stored / (time.monotonic() - start), 1)}


def logged_in(pair: Pair) -> Portal:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    portal = Portal()
    portal.pair, portal.primary_port = pair, pair.primary_port
    portal.client = Client()
    user = get_user_model().objects.get(username="bench-ingrid")
    portal.client.force_login(user, backend=settings.AUTHENTICATION_BACKENDS[0])
    return portal


def throughput(portal: Portal, seconds: float) -> dict[str, Any]:
    """Patient pages (each an audited read) one after the other for `seconds`: how many, how fast."""
    location = portal.lookup()["location"]
    samples: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.perf_counter()
        close_old_connections()
        response = portal.client.get(location)
        samples.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"page answered {response.status_code}")
    samples.sort()
    return {"reads": len(samples), "p50_ms": samples[len(samples) // 2], "p95_ms": samples[int(len(samples) * 0.95)]}


CHECKS = ("routing", "audit_fails", "lag_fallback", "write_then_read", "standby_down", "failover")


def main() -> None:
    """`P S seed`, `P S throughput SECONDS`, `P S ingest SECONDS`, or `P S check [NAME,...]`
    (routing always runs first)."""
    primary_port, standby_port, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    pair = Pair(primary_port, standby_port)
    from django.contrib.auth import get_user_model

    if mode in ("seed", "check") and not get_user_model().objects.filter(username="bench-ingrid").exists():
        seed(pair)  # `check` on a fresh database seeds first: one process start fewer
    if mode == "seed":
        return
    portal = logged_in(pair)
    if mode == "ingest":
        print(json.dumps(ingest_load(float(sys.argv[4]))))
        return
    if mode == "throughput":
        print(json.dumps(throughput(portal, float(sys.argv[4]))))
        return
    only = sys.argv[4].split(",") if len(sys.argv) > 4 else CHECKS
    facts: dict[str, Any] = {}
    checks: dict[str, Callable[[], dict[str, Any]]] = {
        "routing": lambda: routing(portal),
        "audit_fails": lambda: audit_fails(portal, facts["routing"]["location"]),
        "lag_fallback": lambda: lag_fallback(portal),
        "write_then_read": lambda: write_then_read(portal),
        "standby_down": lambda: standby_down(portal),
        "failover": lambda: failover(portal),
    }
    for name in CHECKS:
        if name == "routing" or name in only:
            facts[name] = checks[name]()
    print(json.dumps(facts, default=str))


if __name__ == "__main__":
    main()
