"""`make bench-replica`: the hot standby measured (issue 21, item 5; docs/scaling.md).

On two scratch clusters on loopback (bench/standby.py; BENCH_REPLICA_PORTS, default two free
ports), both dropped at the end, also on failure:

1. read throughput, patient pages through the whole portal (bench/replica_check.py, 2 processes,
   BENCH_REPLICA_SECONDS each, BENCH_REPLICA_ROUNDS interleaved rounds, the median reported): the
   primary alone (standby stopped); primary + standby with the log committed synchronously to the
   standby but reads on the primary; and reads on the standby as well;
2. replay lag while ingest runs: the lag the router sees, PostgreSQL's own replay_lag, and how
   long a committed row takes to be visible on the standby;
3. a failover: ingest acknowledged, the primary crashed (`pg_ctlcluster stop -m immediate`), the
   standby promoted, the same portal process serving the next lookup, step by step with times.

Prints each step as it happens and a summary; saves var/bench/replica.json.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench import standby  # noqa: E402
from bench.common import free_port  # noqa: E402

PROCESSES = 2
ROUNDS = int(os.environ.get("BENCH_REPLICA_ROUNDS", "2"))
T0 = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f} s] {text}", flush=True)


def check(pair: standby.Pair, env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "replica_check.py"),
            str(pair.primary_port),
            str(pair.standby_port),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"replica_check {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def environment(pair: standby.Pair, *, sync: bool, reads_on_standby: bool) -> dict[str, str]:
    env = {**os.environ, "DJANGO_ENV": "test", "LOOKUP_RATE_LIMIT_PER_HOUR": "0"}
    env.pop("REPLICA_DATABASE_URL", None)
    env.pop("REPLICA_SYNCHRONOUS_COMMIT", None)
    env["DATABASE_URL"] = pair.primary_url() if sync else pair.url(pair.primary_port)
    if sync:
        env["REPLICA_SYNCHRONOUS_COMMIT"] = "on"
    if reads_on_standby:
        env["REPLICA_DATABASE_URL"] = pair.standby_url()
    return env


def throughput(pair: standby.Pair, env: dict[str, str], seconds: float, label: str) -> dict[str, Any]:
    results: list[dict[str, Any]] = []

    def one() -> None:
        results.append(json.loads(check(pair, env, "throughput", str(seconds))))

    workers = [threading.Thread(target=one) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    row = {
        "setup": label,
        "pages_per_second": round(sum(r["reads"] for r in results) / seconds, 1),
        "p50_ms": round(statistics.fmean(r["p50_ms"] for r in results), 1),
        "p95_ms": round(max(r["p95_ms"] for r in results), 1),
    }
    say(f"{label}: {row['pages_per_second']} pages/s, p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms")
    return row


def lag_under_ingest(pair: standby.Pair, env: dict[str, str], seconds: float) -> dict[str, Any]:
    """Sample the lag every ~50 ms while one process ingests as fast as it can."""
    loader: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: loader.update(json.loads(check(pair, env, "ingest", str(seconds)))))
    router_ms: list[float] = []
    replay_ms: list[float] = []
    visible_ms: list[float] = []
    conn = {"host": "127.0.0.1", "user": standby.OWNER, "dbname": "postgres", "autocommit": True}
    with (
        psycopg.connect(port=pair.primary_port, **conn) as primary,
        psycopg.connect(port=pair.standby_port, **conn) as copy,
    ):
        primary.execute("CREATE TABLE IF NOT EXISTS lag_probe (n bigint)")
        pair.wait_caught_up()
        thread.start()
        time.sleep(2)  # the loader's start-up
        n = 0
        while thread.is_alive():
            n += 1
            primary.execute("INSERT INTO lag_probe VALUES (%s)", [n])
            start = time.perf_counter()
            while not copy.execute("SELECT 1 FROM lag_probe WHERE n = %s", [n]).fetchone():
                time.sleep(0.0005)
            visible_ms.append((time.perf_counter() - start) * 1000)
            row = copy.execute(
                "SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), "
                "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000"
            ).fetchone()
            assert row is not None
            router_ms.append(0.0 if row[0] else float(row[1]))
            lag = primary.execute(
                "SELECT EXTRACT(EPOCH FROM replay_lag) * 1000 FROM pg_stat_replication WHERE application_name = %s",
                [standby.STANDBY_NAME],
            ).fetchone()
            if lag and lag[0] is not None:
                replay_ms.append(float(lag[0]))
            time.sleep(0.05)
    thread.join()

    def summary(samples: list[float]) -> dict[str, float]:
        ordered = sorted(samples) or [0.0]
        return {
            "p50": round(ordered[len(ordered) // 2], 2),
            "p95": round(ordered[int(len(ordered) * 0.95)], 2),
            "max": round(ordered[-1], 2),
            "n": len(samples),
        }

    result = {
        "ingest": loader,
        "router_lag_ms": summary(router_ms),
        "replay_lag_ms": summary(replay_ms),
        "commit_to_visible_ms": summary(visible_ms),
    }
    say(f"ingest during the lag run: {loader.get('per_second')} measurements/s (synchronous commit to the standby)")
    for key in ("router_lag_ms", "replay_lag_ms", "commit_to_visible_ms"):
        say(f"  {key}: {result[key]}")
    return result


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the clusters are dropped
    if why := standby.available():
        raise SystemExit(f"bench-replica cannot make clusters here: {why}")
    ports = os.environ.get("BENCH_REPLICA_PORTS")
    primary_port, standby_port = (int(p) for p in ports.split(",")) if ports else (free_port(), free_port())
    seconds = float(os.environ.get("BENCH_REPLICA_SECONDS", "15"))
    out: dict[str, Any] = {"seconds": seconds, "processes": PROCESSES, "rounds": ROUNDS}
    say(f"making the primary on port {primary_port} (pg_createcluster, migrate, grant_app_role)")
    with standby.pair(primary_port, standby_port, standby=False) as pair:
        say("primary ready; seeding (organisations, agreements, 30 days of one patient)")
        check(pair, environment(pair, sync=False, reads_on_standby=False), "seed")
        say(f"making the standby on port {standby_port} (pg_basebackup -R, streaming, synchronous)")
        pair.create_standby()
        say("standby streaming")
        setups = {
            "primary alone (standby stopped)": environment(pair, sync=False, reads_on_standby=False),
            "primary + standby, log synchronous, reads on primary": environment(
                pair, sync=True, reads_on_standby=False
            ),
            "primary + standby, log synchronous, reads on standby": environment(pair, sync=True, reads_on_standby=True),
        }
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label in setups}
        for round_ in range(ROUNDS):  # interleaved: a shared machine's load drifts
            say(f"round {round_ + 1} of {ROUNDS}")
            for label, env in setups.items():
                alone = label.startswith("primary alone")
                if alone:
                    pair.stop_standby()
                runs[label].append(throughput(pair, env, seconds, label))
                if alone:
                    pair.start_standby()
                    pair.wait_caught_up()
        rows = [
            {
                "setup": label,
                "pages_per_second": round(statistics.median(r["pages_per_second"] for r in found), 1),
                "p50_ms": round(statistics.median(r["p50_ms"] for r in found), 1),
                "p95_ms": round(statistics.median(r["p95_ms"] for r in found), 1),
                "rounds": [r["pages_per_second"] for r in found],
            }
            for label, found in runs.items()
        ]
        say("read throughput, median of the rounds:")
        for row in rows:
            say(
                f"  {row['setup']}: {row['pages_per_second']} pages/s {row['rounds']}, "
                f"p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms"
            )
        out["throughput"] = rows
        out["lag"] = lag_under_ingest(pair, environment(pair, sync=True, reads_on_standby=True), seconds)
        say("failover: ingest, crash the primary, promote the standby, the same portal process goes on")
        facts = json.loads(check(pair, environment(pair, sync=True, reads_on_standby=True), "check", "failover"))
        failover = facts["failover"]
        previous = 0.0
        for name, at in failover["steps"]:
            say(f"  +{at:8.1f} ms (step {at - previous:7.1f} ms)  {name}")
            previous = at
        survived = failover["after"]["count"] == failover["before"] + failover["added"]
        say(
            f"  acknowledged before the crash: {failover['added']} measurements; after promotion the lookup counts "
            f"{failover['after']['count']} (before {failover['before']}): {'all there' if survived else 'LOST'}; "
            f"portal now on port {failover['portal_connected_to']['port']}"
        )
        out["failover"] = failover
        say("dropping both clusters")
    say("done")
    path = ROOT / "var" / "bench" / "replica.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"Saved {path.relative_to(ROOT)}")
    if not survived:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
