"""`make run`'s SQLite gets the overview's newest readings and the chart's days by plain queries and
Python (`_latest_by_kind`, `_daily_in_python`); on the same rows they must be what PostgreSQL's
one-query forms give (tests/browser/test_make_run.py drives the demo itself on SQLite)."""

import datetime as dt

import pytest
from django.utils import timezone

from devdata import demo
from sharing.core.kinds import Kind
from sharing.measurements import overview, series
from sharing.measurements.models import Measurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_rows(oslo):
    demo.seed_measurements(days=45)  # the plan ranges, reference ranges and notes of the demo stories


def _days(found: series.Days) -> tuple:
    return found.first, found.last, [
        (d.day, d.readings, d.amended, d.ranged,
         {p: (n.n, round(n.total, 6), n.low, n.high, n.below, n.above) for p, n in d.parts.items()})
        for d in found.days
    ]  # fmt: skip


@pytest.mark.parametrize("patient", [p.pid for p in demo.PATIENTS])
def test_the_chart_days_and_the_newest_readings_are_the_same_without_postgresql(demo_rows, patient):
    rows = Measurement.objects.for_patient(patient).visible()
    kinds = sorted({str(k) for k in Kind})
    start = timezone.now() - dt.timedelta(days=30)
    # A query per probe finds a row twice when it is both the newest and the newest with ranges.
    newest = list({row[0]: row for row in overview._latest_by_kind(rows, kinds, start)}.values())
    assert newest == list(overview.latest_query(rows, kinds, start))
    assert len(newest) >= 4
    for kind in {k for p in demo.PATIENTS if p.pid == patient for k in p.kinds}:
        found = _days(series._daily_in_python(rows, kind))
        assert found == _days(series.daily(rows, kind))
        assert sum(d[1] for d in found[2]) > 30 and found[0] is not None
