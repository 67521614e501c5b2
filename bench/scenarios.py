"""Every benchmark scenario, run in one go and gathered into rows for one table.

Ingest and the FHIR read API run against gunicorn (2 workers) on loopback over the generated
national-scale data; the patient page and the access log run in their own scripts (they build
their own scratch databases) and are read back from their output. At full size, `scale` puts
the 10,000-patient database beside a 1,000-patient one and times page and search on both.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

from bench import common

_NUM = r"([\d.]+)"


def _run_script(script: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": common.database_url()}
    done = subprocess.run(
        [sys.executable, str(common.ROOT / "bench" / script), *args],
        cwd=common.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    print(done.stdout)
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def patient_page(runs: int) -> list[dict[str, Any]]:
    out = _run_script("patient_page.py", "--runs", str(runs))
    rows = {}
    for label, key in (("patient page", "page"), ("trivial page", "trivial"), ("chart page", "chart")):
        match = re.search(rf"^{label}.*p50\s+{_NUM} ms\s+p95\s+{_NUM} ms\s+p99\s+{_NUM} ms", out, re.M)
        if match:
            rows[key] = [float(x) for x in match.groups()]
    queries = re.search(r"queries per patient page: (\d+)", out)
    page, trivial = rows["page"], rows["trivial"]
    return [
        {
            "scenario": f"patient page, 1 year x 6 kinds x 4/day ({queries.group(1) if queries else '?'} queries)",
            "p50": page[0],
            "p95": page[1],
            "p99": page[2],
            "floor": trivial[1],
            "key": "page",
        },
        {
            "scenario": "chart page, 1 year",
            "p50": rows["chart"][0],
            "p95": rows["chart"][1],
            "p99": rows["chart"][2],
            "floor": trivial[1],
            "key": "chart",
        },
    ]


def audit(records: int) -> list[dict[str, Any]]:
    return audit_rows(_run_script("audit.py", "--records", str(records), "--verify"))


def audit_rows(out: str) -> list[dict[str, Any]]:
    """bench/audit.py's printed table as rows: record_event against its floor (the bare INSERT
    from Python), the record's statements alone against pgbench's bare INSERT (no target)."""
    floor = alone_floor = None
    rows = []
    for line in out.splitlines():
        match = re.match(rf"^(.+?)\s+{_NUM}\s+{_NUM}\s+{_NUM}\s+(<= [\d.]+ ms|-)\s+(yes|NO)$", line.strip())
        if not match:
            continue
        name, p50, p95, p99, target, met = match.groups()
        if name.startswith("floor"):
            floor = float(p95)
            continue
        if name.startswith("database alone"):  # pgbench, no Python: how low the database lets it go
            if name.endswith("bare INSERT + COMMIT"):
                alone_floor = float(p95)
            elif alone_floor:
                ratio = round(float(p95) / alone_floor, 2)
                rows.append({"scenario": f"audit: {name} (pgbench)", "p50": float(p50), "p95": float(p95),
                             "p99": float(p99), "floor": alone_floor, "ratio": ratio})  # fmt: skip
            continue
        writes = name.startswith("record_event")
        rows.append(
            {
                "scenario": f"audit: {name}",
                "p50": float(p50),
                "p95": float(p95),
                "p99": float(p99),
                "key": "audit_write" if writes else "audit_search",
            }
        )
    for row in rows:
        if floor and row.get("key") == "audit_write":
            row["floor"] = floor
    verify = re.search(r"verify_audit: ([\d,]+) records in ([\d.]+) s \(([\d,]+)/s\)", out)
    if verify:
        rows.append({"scenario": f"verify_audit over {verify.group(1)} records", "rate": f"{verify.group(3)}/s"})
    return rows


def _checkpoint() -> None:
    """Write out what the scenario before left dirty (ingest writes gigabytes of pages), so its
    flush does not land in the next scenario's commits; each starts from a settled database."""
    import psycopg

    with psycopg.connect(common.database_url(), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def run_all(*, size: str = "small", only: list[str] | None = None) -> list[dict[str, Any]]:
    from bench import ingest, scale, search

    small = size == "small"
    plan = {
        "ingest": lambda: [ingest.main(bundles=8 if small else 24)],
        "search": lambda: search.main(n=100 if small else 300),
        "page": lambda: patient_page(runs=100 if small else 200),
        "audit": lambda: audit(records=100_000 if small else 1_000_000),
    }
    if size == "full":  # 10,000 patients against 1,000 (run.py prepares the second database)
        plan["scale"] = lambda: scale.main(rounds=300)
    rows: list[dict[str, Any]] = []
    for name, scenario in plan.items():
        if only and name not in only:
            continue
        print(f"== {name}", flush=True)
        _checkpoint()
        rows.extend({**row, "group": name} for row in scenario())
    return rows
