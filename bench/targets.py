"""Every benchmark target, in one place: the absolute one for the project's standard machine and
the ratio to the floor the scenario measures in the same run (docs/performance.md, "Targets").

A scenario row names its target by ``key``; `verdict` reads the row's numbers against it, and the
table printer (bench/common.py) shows the target and "met" / "not met" twice: by ratio (which
holds on any machine) and by the absolute number (which holds on the standard machine: 2 cores,
PostgreSQL on the same host). A new scenario adds an entry here and puts its key on its row.

Latency targets read the row's ``stat`` (p95 unless the target says p99) and its ``floor``,
which the scenario measures at the same statistic; throughput targets read ``rate`` and
``floor`` (a ceiling: higher is better).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Target:
    floor: str  # what the ratio divides by, as the table and the docs name it
    ms: float | None = None  # latency: the statistic at most this many milliseconds
    ratio: float | None = None  # latency: at most this many times the floor; throughput: at least this share
    stat: Literal["p95", "p99"] = "p95"
    tail: float | None = None  # latency: p99 at most this many times p95 (the tail, issue 24)
    rate: float | None = None  # throughput: at least this many per second (the row's "rate")
    unit: str = "obs/s"

    @property
    def throughput(self) -> bool:
        return self.rate is not None

    def text(self) -> str:
        parts = []
        if self.throughput:
            parts.append(f"≥ {self.rate:,.0f} {self.unit}")
            if self.ratio is not None:
                parts.append(f"≥ {self.ratio:g} of {self.floor}")
        else:
            if self.ms is not None:
                parts.append(f"{self.stat} ≤ {self.ms:g} ms")
            if self.ratio is not None:
                parts.append(f"≤ {self.ratio:g}× {self.floor}")
            if self.tail is not None:
                parts.append(f"p99 ≤ {self.tail:g}× p95")
        return ", ".join(parts)


# Issue 21's and 24's targets (absolute for the standard machine, ratio for any machine). Where
# both set one, the stricter holds (a year in one page: 60 ms from issue 24, 1.3x from issue 21).
TARGETS: dict[str, Target] = {
    "ingest": Target(floor="parse-only", rate=4000, ratio=0.6),
    "search": Target(floor="bare SQL", ms=15, ratio=5),
    "search_year": Target(floor="bare SQL", ms=60, ratio=1.3, tail=1.5),
    "read": Target(floor="bare SQL, one row", ms=6, ratio=3),
    "lastn": Target(floor="bare SQL", ms=10, ratio=3),
    "page": Target(floor="trivial page", ms=15, ratio=4),
    "chart": Target(floor="trivial page", ms=50, ratio=10),
    "audit_write": Target(floor="bare INSERT", ms=1.5, ratio=2),
    "audit_search": Target(floor="", ms=50),
    # Issue 21's soak (bench/load.py): 50 clinicians and an ingest stream for 60 s at full load.
    "soak_page": Target(floor="", ms=100),
    "soak_lookup": Target(floor="", ms=150),
    # Issue 9: ten times the patients costs no more than 1.2 times (full size only).
    "scale": Target(floor="1,000 patients", ratio=1.2),
}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def verdict(row: dict[str, Any]) -> dict[str, Any]:
    """The row's target text, its ratio to the floor, and met by ratio / by absolute
    (True, False, or None where the target sets no such bound or the row lacks the number)."""
    target = TARGETS.get(str(row.get("key", "")))
    if target is None:
        return {}
    floor = _number(row.get("floor"))
    measured = _number(row.get("rate") if target.throughput else row.get(target.stat))
    ratio = measured / floor if measured is not None and floor else None
    by_ratio: bool | None = None
    by_absolute: bool | None = None
    if target.throughput:
        if target.ratio is not None and ratio is not None:
            by_ratio = ratio >= target.ratio
        if measured is not None:
            by_absolute = measured >= (target.rate or 0)
    else:
        if target.ratio is not None and ratio is not None:
            by_ratio = ratio <= target.ratio
        p95, p99 = _number(row.get("p95")), _number(row.get("p99"))
        if target.tail is not None and p95 and p99 is not None:
            by_ratio = (by_ratio is not False) and p99 / p95 <= target.tail
        if target.ms is not None and measured is not None:
            by_absolute = measured <= target.ms
    return {
        "target": target.text(),
        "ratio": round(ratio, 2) if ratio is not None else row.get("ratio", ""),
        "met_ratio": by_ratio,
        "met_absolute": by_absolute,
    }


def met_text(met: bool | None) -> str:
    return "" if met is None else "met" if met else "not met"


def markdown() -> str:
    """The targets as a Markdown table (docs/performance.md quotes it; tests/test_docs.py checks)."""
    lines = ["| key | target (standard machine) | floor |", "|---|---|---|"]
    lines += [f"| `{key}` | {t.text()} | {t.floor or '–'} |" for key, t in TARGETS.items()]
    return "\n".join(lines)
