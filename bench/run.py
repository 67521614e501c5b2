"""`make bench` / `make bench-small`: generate data, run every scenario, print one table, save JSON.

Sizes: small (CI-sized, a few minutes) and full (10,000 patients, ~20 million measurements,
1 million audit records). Each scenario measures its own floor in the same run and reports
the ratio, so the numbers hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SIZES = {
    "small": {"patients": 200, "years": 1.0, "audit": 50_000},
    "medium": {"patients": 1_000, "years": 1.0, "audit": 100_000},
    "full": {"patients": 10_000, "years": 1.0, "audit": 1_000_000},
}


def prepare(size: str, fresh: bool, url: str | None = None) -> dict[str, Any]:
    """A benchmark database with the data of `size` (kept between runs unless --fresh)."""
    url = url or common.database_url()
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        marker = None
        if exists and not fresh:
            with psycopg.connect(url) as db:
                try:
                    row = db.execute("SELECT count(*) FROM measurements_patientsource").fetchone()
                    marker = row[0] if row else None
                except psycopg.Error:
                    marker = None
        spec = SIZES[size]
        if exists and marker is not None and marker >= spec["patients"]:  # other scenarios may add a few
            print(f"Reusing {name}: {marker} patients already generated.")
            return spec
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url}
    manage = [sys.executable, str(common.ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True)
    started = time.monotonic()
    subprocess.run(
        [
            *manage,
            "generate_data",
            "--patients",
            str(spec["patients"]),
            "--years",
            str(spec["years"]),
            "--audit-records",
            str(spec["audit"]),
        ],
        env=env,
        check=True,
    )
    spec = {**spec, "generate_seconds": round(time.monotonic() - started)}
    return spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--fresh", action="store_true", help="Regenerate the data even if present.")
    parser.add_argument("--only", nargs="*", help="Run only these scenarios.")
    args = parser.parse_args()
    if "BENCH_DATABASE_URL" not in os.environ and args.size != "full":
        # Each size keeps its own database (maaledata_bench_small, ..._medium), so a small run
        # never reuses the national-scale data, nor the other way round.
        os.environ["BENCH_DATABASE_URL"] = f"{common.DEFAULT_URL}_{args.size}"
    spec = prepare(args.size, args.fresh)
    if args.size == "full" and (not args.only or "scale" in args.only):
        # The scale scenario compares 10,000 patients with 1,000, generated the same way.
        from bench.scale import medium_database_url

        spec = {**spec, "compared_with": prepare("medium", args.fresh, url=medium_database_url())}
    common.setup_django()
    from bench import scenarios

    rows = scenarios.run_all(size=args.size, only=args.only)
    common.print_table(rows)
    out = common.ROOT / "var" / "bench" / f"{args.size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.only and out.exists():  # a partial run replaces its own scenarios' rows and keeps the rest
        ran = {row["group"] for row in rows}
        kept = [row for row in json.loads(out.read_text()).get("results", []) if row.get("group") not in ran]
        rows = kept + rows
    out.write_text(
        json.dumps(
            {
                "size": args.size,
                "data": spec,
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                },
                "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                "results": rows,
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nSaved {out}")


if __name__ == "__main__":
    main()
