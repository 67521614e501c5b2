"""The hot standby, for real: a primary and its streaming standby on loopback (bench/standby.py),
the portal as production runs it (multi-host DATABASE_URL, REPLICA_DATABASE_URL, the runtime role),
and a primary crash followed by promotion. Issue 21, item 5; docs/scaling.md.

Behind the `replica` marker: it makes (and drops) two PostgreSQL clusters, which needs root and
Debian's pg_createcluster, so it runs only with REPLICA_TESTS=1 (`make test` and CI set it). 77 s
on a quiet machine (161 s at load average 21), most of it making the clusters and migrating.

The portal's side runs in a process of its own (bench/replica_check.py), as a portal worker
would, and reports what happened; each test below asserts one promise on that report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from bench import standby
from bench.common import ROOT, free_port

pytestmark = pytest.mark.replica


def _ports() -> tuple[int, int]:
    if chosen := os.environ.get("REPLICA_TEST_PORTS"):
        first, second = chosen.split(",")
        return int(first), int(second)
    return free_port(), free_port()


@pytest.fixture(scope="module")
def report() -> Iterator[dict[str, Any]]:
    if why := standby.available():
        pytest.fail(f"REPLICA_TESTS=1 but clusters cannot be made here: {why}")
    primary_port, standby_port = _ports()
    with standby.pair(primary_port, standby_port) as pair:
        env = {
            **os.environ,
            "DATABASE_URL": pair.primary_url(),
            "REPLICA_DATABASE_URL": pair.standby_url(),
            "REPLICA_SYNCHRONOUS_COMMIT": "on",
            "REPLICA_MAX_LAG_MS": "1000",
            "REPLICA_LAG_CACHE_MS": "500",
            "DJANGO_ENV": "test",
        }

        def run(*args: str) -> str:
            done = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "replica_check.py"), str(primary_port), str(standby_port), *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            assert done.returncode == 0, done.stderr[-4000:]
            return done.stdout

        yield json.loads(run("check").strip().splitlines()[-1])


def test_page_reads_come_from_the_standby_and_the_decision_and_log_from_the_primary(report):
    routing = report["routing"]
    assert routing["lookup"]["status"] == 302 and routing["lookup"]["recorded"]
    assert routing["page"]["status"] == 200 and routing["page"]["shows_patient"] and routing["page"]["recorded"]
    assert routing["measurement_reads_on_standby"] > 0
    assert routing["measurement_reads_on_primary"] == 0
    # The access decision (agreements in force) is never read from a copy that may lag.
    assert routing["agreement_reads_on_primary"] > 0
    assert routing["agreement_reads_on_standby"] == 0
    assert routing["audit_records_on_primary"] == 2  # the lookup's and the page's
    assert routing["audit_messages_on_primary"] >= 2
    assert routing["audit_inserts_on_standby"] == 0
    assert routing["statements_on_standby_not_select"] == []


def test_no_data_is_shown_unless_its_record_is_committed_on_the_primary(report):
    # Each page above was answered only after its record could be read back from the primary over
    # another connection (recorded); here the record cannot be written: the standby was read, but
    # the page says so and shows nothing.
    failed = report["audit_fails"]
    assert failed["measurement_reads_on_standby"] > 0
    assert failed["records_written"] == 0
    assert failed["status"] == 503
    assert not failed["shows_patient"]


def test_reads_fall_back_to_the_primary_when_the_standby_lags_beyond_the_bound(report):
    lag = report["lag_fallback"]
    assert lag["added"] > 0
    # Replay paused, within the bound: the standby answers, without what it has not replayed yet.
    assert lag["within_bound"]["usable"] and lag["within_bound"]["count"] == lag["before"]
    # Beyond the bound: the primary answers, with the new measurements.
    assert not lag["beyond_bound"]["usable"] and lag["beyond_bound"]["reason"] == "lag"
    assert lag["beyond_bound"]["lag_ms"] > 200
    assert lag["beyond_bound"]["count"] == lag["before"] + lag["added"]


def test_a_read_after_a_write_in_one_transaction_stays_on_the_primary(report):
    tx = report["write_then_read"]
    assert tx["alias_in_writing_transaction"] == "default"
    assert tx["standby_statements_in_transaction"] == 0
    assert tx["count_in_transaction"] == tx["before"] + tx["added"]  # it sees its own write
    assert tx["alias_after_commit"] == "replica"


def test_with_the_standby_down_ingest_waits_for_it_and_reads_fall_back(report):
    down = report["standby_down"]
    assert down["ingest_waited_for_standby"], "ingest was acknowledged without the standby"
    assert down["ordinary_write_done"]
    assert down["added"] > 0
    assert down["state"] == {"usable": False, "reason": "down"}
    assert down["lookup"]["status"] == 302 and down["lookup"]["recorded"]
    assert down["lookup"]["count"] == down["before"] + down["added"]
    assert down["standby_statements"] == 0


def test_an_acknowledged_measurement_survives_a_crash_and_the_portal_reconnects(report):
    failover = report["failover"]
    assert failover["added"] > 0
    # No primary: a finished 503 page with Retry-After (portal/errors.py), nothing served, nothing faked.
    unavailable = {"status": 503, "retry_after": "5", "says_unavailable": True, "shows_patient": False}
    assert failover["during_outage"] == {"lookup": unavailable, "page": unavailable}
    assert failover["after"]["status"] == 302 and failover["after"]["recorded"]
    assert failover["after"]["count"] == failover["before"] + failover["added"]
    assert failover["page"]["status"] == 200 and failover["page"]["shows_patient"]
    assert failover["portal_connected_to"]["in_recovery"] is False
