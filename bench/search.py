"""FHIR read API: one patient, one code, one year; read by id; and $lastn — over HTTP against gunicorn.

Every call carries a DPoP-bound devidp token with a fresh proof, and every answer has its audit
record committed before it leaves. Floor: the bare SQL of the same read (psycopg, no Django, no
HTTP), in the same run. Each row carries its targets (issue 21 and 24) as data: `target_ms` (an
absolute p95), `target_ratio` (p95 over the floor), `target_p99_ratio` (p99 over p95, the tail),
and `met` when every target it has holds.
Run: BENCH_DATABASE_URL=... python bench/search.py (after `manage.py generate_data`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

N = 200


def main(n: int = N) -> list[dict[str, Any]]:
    common.setup_django()
    import psycopg
    import requests

    from portal.login.devclient import DpopAuth, DpopKey, epj_user_token
    from sharing.identifiers import SYSTEM_FNR
    from sharing.measurements.models import Measurement

    patient = (
        Measurement.objects.filter(source_orgnr="311111019", kind="heart_rate")
        .order_by("patient_value")  # the same patient in every freshly generated database (ids are random)
        .values_list("patient_value", flat=True)
        .first()
    )
    if patient is None:
        raise SystemExit("No data: run `manage.py generate_data` against the benchmark database first.")
    with common.services() as svc:
        key = DpopKey()
        token = epj_user_token(svc, "ingrid-berg", key)
        session = requests.Session()
        session.auth = DpopAuth(token, key)
        since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 365 * 86400))
        params = {
            "patient.identifier": f"{SYSTEM_FNR}|{patient}",
            "code": "http://loinc.org|8867-4",
            "date": f"ge{since}",
        }
        everything = {**params, "_count": "1000"}
        url = f"{svc.portal_url}/fhir/Observation"
        first = session.get(url, params=params, timeout=30)
        first.raise_for_status()
        year_total = first.json()["total"]
        # What an integrator's first call costs: the first page (default 50) and the year's total.
        search = common.time_calls(lambda: session.get(url, params=params, timeout=30).raise_for_status(), n)
        whole = common.time_calls(lambda: session.get(url, params=everything, timeout=30).raise_for_status(), n // 2)
        # Read by id: one Observation of the year, a different one each call (the page above has 50).
        ids = [entry["resource"]["id"] for entry in first.json()["entry"]]
        turn = iter(range(10**9))
        by_id = common.time_calls(
            lambda: session.get(f"{url}/{ids[next(turn) % len(ids)]}", timeout=30).raise_for_status(), n
        )
        lastn_params = {"patient.identifier": params["patient.identifier"], "max": "3"}
        lastn = common.time_calls(
            lambda: session.get(f"{url}/$lastn", params=lastn_params, timeout=30).raise_for_status(), n
        )
        rss = svc.max_worker_rss()
    with psycopg.connect(common.database_url()) as conn:
        sql = (
            "SELECT m.*, r.resource FROM measurements_measurement m JOIN measurements_rawresource r "
            "ON r.measurement_id = m.id WHERE m.patient_value = %s AND m.kind = 'heart_rate' "
            "AND m.effective >= now() - interval '365 days' ORDER BY m.effective DESC LIMIT %s"
        )
        floor = common.time_calls(lambda: conn.execute(sql, [patient, 50]).fetchall(), n)
        floor_all = common.time_calls(lambda: conn.execute(sql, [patient, 1000]).fetchall(), n // 2)
        one = (
            "SELECT m.*, r.resource FROM measurements_measurement m JOIN measurements_rawresource r "
            "ON r.measurement_id = m.id WHERE m.id = %s"
        )
        spin = iter(range(10**9))
        floor_one = common.time_calls(lambda: conn.execute(one, [ids[next(spin) % len(ids)]]).fetchall(), n)
    limit_check = _limit_check(n)
    s, ln, fl = common.percentiles(search), common.percentiles(lastn), common.percentiles(floor)
    wh, fa = common.percentiles(whole), common.percentiles(floor_all)
    rd, fo = common.percentiles(by_id), common.percentiles(floor_one)
    first_page = {
        "scenario": f"FHIR search 1 patient/code/year: first page of 50 + total ({year_total})",
        **s,
        "floor": fl["p95"],
        "key": "search",
        "rss_mb": rss,
    }
    whole_year = {
        "scenario": f"FHIR search, the whole year in one page, _count=1000 ({min(year_total, 1000)} rows)",
        **wh,
        "floor": fa["p95"],
        "key": "search_year",
        "rss_mb": rss,
    }
    read = {"scenario": "FHIR read one Observation by id (DPoP, audited)", **rd, "floor": fo["p95"], "key": "read"}
    last = {"scenario": "FHIR $lastn (max 3)", **ln, "floor": fl["p95"], "key": "lastn"}
    return [first_page, whole_year, read, last, limit_check]


def _limit_check(n: int) -> dict[str, Any]:
    """The hourly lookup limit's check, which every search and portal lookup makes. Its count stops
    at LOOKUP_RATE_LIMIT_PER_HOUR (default 200), so its worst case is a person at the limit; the
    benchmark's person has made the searches above in the hour, so at full size the count runs to
    the limit (the row says how far it ran)."""
    import datetime as dt

    from django.conf import settings
    from django.utils import timezone

    from sharing.access.actions import lookup_rate_exceeded
    from sharing.audit import events
    from sharing.audit.models import AuditEvent
    from sharing.core.actor import Actor

    sub = AuditEvent.objects.filter(event="api.search").order_by("-id").values_list("actor_sub", flat=True).first()
    by = Actor(sub=sub or "")
    limit = settings.LOOKUP_RATE_LIMIT_PER_HOUR
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    made = AuditEvent.objects.filter(events.counted_lookups(), actor_sub=by.sub, occurred_at__gt=hour_ago).count()
    timed = common.percentiles(common.time_calls(lambda: lookup_rate_exceeded(by=by, at=timezone.now()), n))
    return {"scenario": f"lookup limit check ({min(made, limit)} of the limit's {limit} counted)", **timed}
