"""One kind over a period: chart data aggregated on the server, the exact table in pages, every view logged."""

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from sharing.audit.models import AuditEvent
from sharing.measurements.series import TABLE_PAGE_SIZE
from tests.conftest import idp_login

from .conftest import open_patient
from .factories import KARI, measurement, shown_on_days, store

pytestmark = pytest.mark.django_db(transaction=True)


def _chart(page: str) -> dict:
    found = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', page, re.S)
    assert found, "no chart data"
    return json.loads(found.group(1))


def _rows(page: str) -> int:
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return body.count("<tr")


def _total(page: str) -> int:
    found = re.search(r'<span class="section-head__count">\((\d+)\)</span>', page)
    assert found, "no row count"
    return int(found.group(1))


@pytest.mark.parametrize(
    ("period", "resolution", "rows"),
    [
        ("7d", "raw", 7 * 4),
        ("30d", "raw", 30 * 4),
        ("90d", "raw", 90 * 4),
        ("1y", "day", 365 * 4),
        ("all", "day", 365 * 4),
    ],
)
def test_each_period_draws_at_most_400_points_and_pages_the_table(ingrid, year_data, period, resolution, rows):
    page_url = open_patient(ingrid, year_data) + "heart_rate/"
    response = ingrid.get(page_url, {"periode": period})
    assert response.status_code == 200
    page = response.content.decode()
    chart = _chart(page)
    assert chart["resolution"] == resolution
    points = chart["datasets"][0]["points"]
    assert len(points) <= 400
    # Entered-in-error readings (a few in a year) are neither drawn nor tabled nor counted.
    total = _total(page)
    assert rows - 4 <= total <= rows
    assert _rows(page) == min(total, TABLE_PAGE_SIZE)
    if resolution == "raw":
        assert len(points) == total
    else:
        assert sum(int(re.search(r"(\d+) målinger", p["v"]).group(1)) for p in points) == total
        assert {"lo", "hi", "y"} <= set(points[0]) and points[0]["lo"] <= points[0]["y"] <= points[0]["hi"]
    event = AuditEvent.objects.get(event="patient.view")
    assert (event.data["view"], event.data["kinds"], event.data["count"]) == ("series", ["heart_rate"], total)
    assert event.data["page"] == 1


def test_the_table_is_paged_newest_first_with_links_that_keep_the_period(ingrid, year_data):
    url = open_patient(ingrid, year_data) + "heart_rate/"
    first = ingrid.get(url, {"periode": "30d"}).content.decode()
    total = _total(first)
    pages = -(-total // TABLE_PAGE_SIZE)
    assert pages == 2
    nav = first[first.index('<nav class="pager') : first.index("</nav>", first.index('<nav class="pager'))]
    assert 'aria-current="page"' in nav and "?periode=30d&amp;side=2#table-title" in nav
    assert f"Målinger 1–{TABLE_PAGE_SIZE} av {total}" in first
    last = ingrid.get(url, {"periode": "30d", "side": str(pages)}).content.decode()
    assert _rows(last) == total - (pages - 1) * TABLE_PAGE_SIZE
    # Past the last page shows the last; a page that is not a number shows the first.
    assert _rows(ingrid.get(url, {"periode": "30d", "side": "999"}).content.decode()) == _rows(last)
    assert _rows(ingrid.get(url, {"periode": "30d", "side": "x"}).content.decode()) == TABLE_PAGE_SIZE

    def times(page: str) -> list[int]:
        return [int(t) for t in re.findall(r'data-time="(\d+)"', page)]

    seen = times(first) + times(ingrid.get(url, {"periode": "30d", "side": "2"}).content.decode())
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == total  # every reading once
    pages_logged = list(AuditEvent.objects.filter(event="patient.view").values_list("data__page", flat=True))
    assert pages_logged == [1, pages, pages, 1, 2]


def test_an_aggregated_chart_marks_every_day_with_a_value_outside_its_range(ingrid, oslo):
    """Averaging must not hide a reading outside the range: the day's bucket says how many lay
    above and below, and its highest and lowest values are the exact extremes."""
    now = timezone.now()
    rows = [measurement(kind="heart_rate", effective=now - dt.timedelta(hours=6 * i), value=70) for i in range(420)]
    rows[40].value = 152  # one high reading among three normal ones that day
    rows[200].value = 41  # one low
    store(rows)
    chart = _chart(ingrid.get(open_patient(ingrid, KARI) + "heart_rate/", {"periode": "1y"}).content.decode())
    assert chart["resolution"] == "day"
    points = chart["datasets"][0]["points"]
    flagged = [p for p in points if p.get("o")]
    assert [(p.get("oa"), p.get("ob"), p["hi"], p["lo"]) for p in flagged] == [(None, 1, 70, 41), (1, None, 152, 70)]
    assert all(p["y"] < 100 for p in flagged)  # the means alone would have hidden both
    assert all("utenfor normalområdet" in p["v"] for p in flagged)


def test_blood_pressure_is_a_pair_with_both_ranges(ingrid, year_data):
    page = ingrid.get(open_patient(ingrid, year_data) + "blood_pressure/", {"periode": "7d"}).content.decode()
    chart = _chart(page)
    assert [d["part"] for d in chart["datasets"]] == ["systolic", "diastolic"]
    assert [(b["part"], b["low"], b["high"]) for b in chart["bands"]] == [("systolic", 90, 135), ("diastolic", 50, 85)]
    first = chart["datasets"][0]["points"][0]
    assert re.fullmatch(r"\d+\xa0mmHg", first["v"]) and re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", first["t"])


def test_news2_gets_its_risk_bands_and_amended_values_are_marked(ingrid, oslo):
    now = timezone.now()
    store(
        [
            measurement(kind="news2", effective=now - dt.timedelta(hours=3), value=2),
            measurement(kind="news2", effective=now - dt.timedelta(hours=2), value=6, status="amended"),
            measurement(kind="news2", effective=now - dt.timedelta(hours=1), value=9, status="entered-in-error"),
        ]
    )
    page = ingrid.get(open_patient(ingrid, KARI) + "news2/").content.decode()
    chart = _chart(page)
    assert chart["news2"] is True and chart["bands"] == []
    points = chart["datasets"][0]["points"]
    assert [(p["y"], p.get("a")) for p in points] == [(2, None), (6, 1)]
    assert "Endret" in page and ">9<" not in page


def test_times_are_oslo_wall_clock_and_numbers_norwegian(ingrid, oslo):
    summer = timezone.now().replace(month=7, day=1, hour=6, minute=30, second=0, microsecond=0, tzinfo=dt.UTC)
    if summer > timezone.now():
        summer = summer.replace(year=summer.year - 1)
    store([measurement(kind="glucose", effective=summer, value=5.25)])
    page = ingrid.get(open_patient(ingrid, KARI) + "glucose/", {"periode": "all"}).content.decode()
    point = _chart(page)["datasets"][0]["points"][0]
    assert point["x"].endswith("T08:30")  # 06:30 UTC is 08:30 in Oslo in July
    assert "5,25" in page


def test_a_custom_period_and_a_wrong_one(ingrid, year_data):
    url = open_patient(ingrid, year_data) + "glucose/"
    today = timezone.localdate()
    response = ingrid.get(url, {"periode": "custom", "fra": (today - dt.timedelta(days=2)).isoformat(), "til": today})
    shown = _rows(response.content.decode())
    assert shown == shown_on_days(today - dt.timedelta(days=2), today, kind="glucose")
    assert 2 * 4 - 1 <= shown <= 3 * 4  # two whole days and what today holds yet
    bad = ingrid.get(url, {"periode": "custom", "fra": today.isoformat(), "til": (today - dt.timedelta(days=3))})
    assert "Startdatoen må være samme dag som eller før sluttdatoen" in bad.content.decode()


def test_the_gp_sees_only_the_agreements_window(client, helseid, year_data):
    idp_login(client, helseid, "ola-hansen")
    page = client.get(open_patient(client, year_data) + "heart_rate/", {"periode": "1y"}).content.decode()
    assert _rows(page) <= 90 * 4 + 4
    assert "Avtalen gir tilgang til målinger fra og med" in page


def test_unknown_kind_and_someone_elses_key_are_404(ingrid, year_data, helseid):
    url = open_patient(ingrid, year_data)
    assert ingrid.get(url + "cholesterol/").status_code == 404
    other = Client()
    idp_login(other, helseid, "ola-hansen")
    assert other.get(url + "heart_rate/").status_code == 404


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def _table(rows: list[list[str]]) -> tuple[dict[str, str], list[str], list[list[str]]]:
    """The header rows (label: value), the column names and the measurement rows."""
    gap = rows.index([])
    return dict((r[0], r[1]) for r in rows[:gap]), rows[gap + 1], rows[gap + 2 :]


def test_csv_export_is_logged_and_holds_exactly_what_may_be_seen(ingrid, year_data):
    url = open_patient(ingrid, year_data)
    store([measurement(kind="heart_rate", effective=timezone.now(), value=250, status="entered-in-error")])
    response = ingrid.post(url + "eksport/", {"kind": "heart_rate", "periode": "7d"})
    head, columns, lines = _table(_csv(response))
    today = timezone.localdate()
    week = f"{today - dt.timedelta(days=7):%Y-%m-%d}-til-{today:%Y-%m-%d}"
    assert (
        response["Content-Disposition"] == f"attachment; filename*=utf-8''m%C3%A5linger-kari-nordmann-puls-{week}.csv"
    )
    assert head["Pasient"] == "Kari Nordmann" and head["Fødselsnummer"] == "308759 28763"
    assert head["Målinger"] == "Puls" and head["Periode"] == f"{today - dt.timedelta(days=7):%d.%m.%Y}–{today:%d.%m.%Y}"
    assert columns == ["Tidspunkt", "Måling", "Verdi", "Enhet", "Status", "Merknader", "Kommune (org.nr.)"]
    assert all(line[1] == "Puls" for line in lines) and not any(line[2] == "250" for line in lines)
    times = [f"{t[6:10]}{t[3:5]}{t[:2]} {t[11:]}" for t in (line[0] for line in lines)]  # dd.mm.yyyy hh:mm
    assert times == sorted(times, reverse=True)  # newest first, like the table
    event = AuditEvent.objects.get(event="patient.export")
    assert (event.outcome, event.data["count"], event.data["kinds"]) == ("granted", len(lines), ["heart_rate"])


def test_csv_export_puts_systolic_and_diastolic_in_their_own_columns(ingrid, year_data):
    url = open_patient(ingrid, year_data)
    store([measurement(kind="blood_pressure", effective=timezone.now(), systolic=141, diastolic=83.5)])
    _head, columns, lines = _table(_csv(ingrid.post(url + "eksport/", {"kind": "blood_pressure", "periode": "7d"})))
    assert columns[:4] == ["Tidspunkt", "Måling", "Systolisk", "Diastolisk"] and "Verdi" not in columns
    assert lines[0][1:5] == ["Blodtrykk", "141", "83,5", "mmHg"]


def test_csv_export_guards_sender_text_against_formulas(ingrid, year_data):
    url = open_patient(ingrid, year_data)
    coded = measurement(kind="consciousness", effective=timezone.now(), name="=HYPERLINK(1)")
    coded.value_display = '=HYPERLINK("http://example.invalid","Klikk")'
    store([coded])
    rows = _csv(ingrid.post(url + "eksport/"))
    cells = [c for row in rows for c in row]
    assert '\'=HYPERLINK("http://example.invalid","Klikk")' in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert not any(c.startswith("-") and not c.lstrip("-").replace(",", "").isdigit() for c in cells)


def test_csv_export_of_everything_from_the_overview(ingrid, year_data):
    url = open_patient(ingrid, year_data)
    head, _columns, lines = _table(_csv(ingrid.post(url + "eksport/")))
    assert len(lines) == AuditEvent.objects.get(event="patient.export").data["count"] > 8000
    assert head["Målinger"] == "Alt du har tilgang til"
    assert ingrid.get(url + "eksport/").status_code == 405  # an export is a deliberate POST


@pytest.mark.parametrize("day", [dt.date(2026, 3, 29), dt.date(2026, 10, 25), dt.date(2026, 6, 1)])
@pytest.mark.parametrize("week", [False, True])
def test_a_buckets_place_and_name_are_the_same_from_the_cache(day, week, settings):
    """The chart's points are placed from a cache (charts._placed); on the days the clocks change
    too, and under another default zone the cache answers for that zone."""
    from portal.clinician.charts import _placed
    from portal.clinician.present import naive_local, oslo
    from sharing.measurements.overview import local_midnight

    for zone in ("Europe/Oslo", "America/New_York"):
        settings.TIME_ZONE = zone
        start = local_midnight(day)
        assert start.utcoffset() == timezone.make_aware(dt.datetime.combine(day, dt.time())).utcoffset()
        expected = (naive_local(start + dt.timedelta(days=3.5 if week else 0.5)), oslo(start).strftime("%d.%m.%Y"))
        assert _placed(start, week, timezone.get_default_timezone()) == expected
        assert expected[1] == day.strftime("%d.%m.%Y")


def test_the_charts_data_cannot_end_its_script_and_reads_back_as_written():
    """orjson writes the chart's data (charts.chart_script); <, > and & go out as \\u escapes, as
    Django's json_script writes them, so a patient's note cannot close the script or open a comment."""
    from django.utils.html import json_script
    from django.utils.translation import gettext_lazy

    from portal.clinician.charts import chart_script

    note = "</script><script>alert(1)</script><!-- & æøå\u00a0"
    data = {
        "points": [{"n": note, "y": 72.5, "a": 1}],
        "bands": [],
        "low": None,
        "label": gettext_lazy("Amended value"),
    }
    written = str(chart_script(data))
    body = written.removeprefix('<script id="chart-data" type="application/json">').removesuffix("</script>")
    assert "<" not in body and ">" not in body and "&" not in body
    assert json.loads(body) == {**data, "label": str(data["label"])}
    assert json.loads(body) == _chart(str(json_script(data, "chart-data")))  # as Django's filter gives it
