"""Before and after in one sitting: the benchmark alternated between another commit and this tree.

    .venv/bin/python bench/compare.py --before 1794b35 --runs 5 --only search page audit
    make bench-compare BEFORE=1794b35 RUNS=5 ONLY="search page audit"

This machine's speed moves a great deal within minutes (docs/performance.md), so one run of each
side back to back does not settle a difference of a few per cent: the next pair can say the
opposite. This runs `bench/run.py --size SIZE --only …` alternately in a git worktree of `--before`
and in this tree, `--runs` times each, the side that goes first changing every turn (before,
after; after, before; …) so that what drifts through a sitting (the log's rows of the hour, the
machine warming) does not always favour one side; and prints per scenario
the median over the runs of each percentile (of the rate, for ingest) and of the ratio to the
floor measured in the same run, with the spread of p95 over the runs. Saved as
var/bench/compare-<size>.json.

The worktree is made under var/compare/ and removed at the end (`--keep` leaves it). It shares
this tree's .venv and node_modules (the same dependencies are assumed: a commit that changes them
needs its own install), the access log's chain key (var/audit-chain.key) and the compiled
translations. Both sides run against the same benchmark databases, which `bench/run.py` makes and
migrates as the side that runs first needs: a migration only this tree has is applied for both,
so a schema change is not compared by this (run each side on its own database for that).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIDES = ("before", "after")


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()  # noqa: S603, S607


def make_worktree(revision: str) -> Path:
    """A worktree of `revision` under var/compare/, ready to run the benchmark."""
    commit = _git("rev-parse", "--verify", f"{revision}^{{commit}}")
    tree = ROOT / "var" / "compare" / commit[:12]
    if tree.exists():
        remove_worktree(tree)
    tree.parent.mkdir(parents=True, exist_ok=True)
    _git("worktree", "add", "--detach", str(tree), commit)
    for shared in (".venv", "node_modules"):
        if (ROOT / shared).exists():
            (tree / shared).symlink_to(ROOT / shared)
    key = ROOT / "var" / "audit-chain.key"
    if key.exists():
        (tree / "var").mkdir(exist_ok=True)
        shutil.copy2(key, tree / "var" / key.name)
    for compiled in (ROOT / "locale").rglob("*.mo"):
        target = tree / compiled.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(compiled, target)
    return tree


def remove_worktree(tree: Path) -> None:
    _git("worktree", "remove", "--force", str(tree))


def run_once(tree: Path, size: str, only: Sequence[str], log: Path) -> list[dict[str, Any]]:
    """One `bench/run.py` in `tree`; the rows of the scenarios it ran."""
    command = [sys.executable, "bench/run.py", "--size", size, *(["--only", *only] if only else [])]
    with log.open("a") as out:
        out.write(f"\n== {tree} {time.strftime('%H:%M:%S')}\n")
        out.flush()
        subprocess.run(command, cwd=tree, check=True, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    results = json.loads((tree / "var" / "bench" / f"{size}.json").read_text())["results"]
    return [row for row in results if not only or row.get("group") in only]


def _number(value: Any) -> float | None:
    """A number of a row: an int or float, or a rate as the table prints it ("28,439/s")."""
    if isinstance(value, str) and value.endswith("/s"):
        try:
            return float(value.removesuffix("/s").replace(",", ""))
        except ValueError:
            return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _median(values: Iterable[Any]) -> float | None:
    numbers = [n for n in map(_number, values) if n is not None]
    return statistics.median(numbers) if numbers else None


def summarise(runs: dict[str, list[list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Per scenario (in the order of the first run), each side's medians over its runs."""
    order: list[str] = []
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for side in SIDES:
        for run in runs.get(side, []):
            for row in run:
                name = str(row["scenario"])
                if name not in rows:
                    order.append(name)
                    rows[name] = {s: [] for s in SIDES}
                rows[name][side].append(row)
    summary = []
    for name in order:
        entry: dict[str, Any] = {"scenario": name}
        for side in SIDES:
            found = rows[name][side]
            p95s = [n for n in (_number(r.get("p95")) for r in found) if n is not None]
            entry[side] = {
                "runs": len(found),
                **{stat: _median(r.get(stat) for r in found) for stat in ("p50", "p95", "p99", "rate", "floor")},
                "ratio": _median(r.get("ratio") for r in found),
                "p95_range": (min(p95s), max(p95s)) if p95s else None,
            }
        summary.append(entry)
    return summary


def _cell(side: dict[str, Any]) -> str:
    if not side["runs"]:
        return "–"
    if side["rate"] is not None:
        return f"{side['rate']:,.0f}/s"
    parts = [side[s] for s in ("p50", "p95", "p99")]
    return " / ".join("–" if p is None else f"{p:.2f}" for p in parts)


def _spread(found: tuple[float, float] | None) -> str:
    return "–" if found is None else f"{found[0]:.2f}–{found[1]:.2f}"


def _change(before: dict[str, Any], after: dict[str, Any]) -> str:
    stat = "rate" if before["rate"] is not None else "p95"
    if before[stat] is None or after[stat] is None or not before[stat]:
        return ""
    return f"{(after[stat] - before[stat]) / before[stat] * 100:+.1f} % {stat}"


def table(summary: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table (docs/performance.md quotes such tables)."""
    lines = [
        "| scenario | before p50 / p95 / p99 (ms) or rate | after | ratio to floor, before → after "
        "| p95 over the runs, before; after | change |",
        "|---|---|---|---|---|---|",
    ]
    for entry in summary:
        before, after = entry["before"], entry["after"]
        ratio = " → ".join("–" if s["ratio"] is None else f"{s['ratio']:.2f}" for s in (before, after))
        spread = "; ".join(_spread(s["p95_range"]) for s in (before, after))
        cells = [entry["scenario"], _cell(before), _cell(after), ratio, spread, _change(before, after)]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


def sides_for(turn: int) -> tuple[str, ...]:
    """The order of the sides in turn `turn` (from 1): before first in odd turns, after first in even ones."""
    return SIDES if turn % 2 else SIDES[::-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="the commit to compare this tree with")
    parser.add_argument("--runs", type=int, default=5, help="runs of each side, alternating (default 5)")
    parser.add_argument("--size", default="small", choices=["small", "medium", "full"])
    parser.add_argument("--only", nargs="*", default=[], help="scenarios, as bench/run.py --only names them")
    parser.add_argument("--keep", action="store_true", help="leave the worktree under var/compare/")
    args = parser.parse_args()

    log = ROOT / "var" / "bench" / f"compare-{args.size}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    tree = make_worktree(args.before)
    trees = {"before": tree, "after": ROOT}
    runs: dict[str, list[list[dict[str, Any]]]] = {side: [] for side in SIDES}
    try:
        for turn in range(1, args.runs + 1):
            for side in sides_for(turn):
                print(f"run {turn} of {args.runs}, {side} …", flush=True)
                runs[side].append(run_once(trees[side], args.size, args.only, log))
    finally:
        if not args.keep:
            remove_worktree(tree)
    summary = summarise(runs)
    head = _git("rev-parse", "--short", "HEAD")
    turns = f"{args.runs} runs each, alternating, each side first in turn"
    print(f"\nbefore: {args.before}, after: this tree ({head}); {turns}; medians")
    print(table(summary))
    out = ROOT / "var" / "bench" / f"compare-{args.size}.json"
    out.write_text(json.dumps({"before": args.before, "after": head, "runs": runs, "summary": summary}, indent=2))
    print(f"\nSaved {out} (each run's output: {log})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
