"""What a note for the hospital record draws on: each kind's readings over a chosen period (count,
latest, mean, lowest and highest) beside the overview's thresholds and trend alerts.

Like overview.py, it takes a queryset an access decision has already narrowed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from statistics import fmean

from django.db.models import QuerySet

from .models import Measurement
from .overview import Overview, Reading, overview, parts_of
from .series import readings


@dataclass(frozen=True)
class KindPeriod:
    kind: str
    count: int
    first: dt.datetime
    latest: Reading
    mean: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]


@dataclass(frozen=True)
class JournalBasis:
    start: dt.datetime | None  # None: everything the decision allows
    end: dt.datetime
    kinds: tuple[KindPeriod, ...]
    overview: Overview  # thresholds, their sources and the trend alerts, as the cards show them

    @property
    def count(self) -> int:
        return sum(k.count for k in self.kinds)


def journal_basis(qs: QuerySet[Measurement], *, start: dt.datetime | None, end: dt.datetime) -> JournalBasis:
    """The period's readings per kind (one query) and the overview at `end` (two queries)."""
    found: dict[str, list[Reading]] = defaultdict(list)
    for r in readings(qs, start=start, end=end):
        found[r.kind].append(r)
    view = overview(qs, now=end, kinds=list(found))
    order = [k.kind for k in view.kinds]
    kinds = []
    for kind in sorted(found, key=lambda k: order.index(k) if k in order else len(order)):
        rows = found[kind]
        values = {p: [r.values[p] for r in rows if p in r.values] for p in parts_of(kind)}
        present = {p: v for p, v in values.items() if v}
        kinds.append(
            KindPeriod(
                kind=kind,
                count=len(rows),
                first=rows[0].effective,
                latest=rows[-1],
                mean={p: fmean(v) for p, v in present.items()},
                low={p: min(v) for p, v in present.items()},
                high={p: max(v) for p, v in present.items()},
            )
        )
    return JournalBasis(start=start, end=end, kinds=tuple(kinds), overview=view)
