"""A FHIR search answer costs a fixed number of queries, however many rows it renders."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sharing.core.basis import Basis
from sharing.fhir import reads
from sharing.fhir.search import make_cursor, parse_query
from sharing.identifiers import SYSTEM_FNR
from tests.actors import INGRID

pytestmark = pytest.mark.django_db

# lookup limit (with its lock, one round trip), decision (1), the page with its total, audit record
# (the chain's lock and the insert in one; sharing/audit/actions.py: _write_in_transaction)
QUERIES = 4


def _answer(patient: str, count: int) -> tuple[int, int]:
    """Search and use the answer as the view does; (rows rendered, queries made)."""
    query = parse_query({"patient.identifier": [f"{SYSTEM_FNR}|{patient}"], "_count": [str(count)]})
    with CaptureQueriesContext(connection) as queries:
        page = reads.search(by=INGRID, query=query, basis=Basis.CARE, reason="", cursor=None)
        resources = [reads.as_resource(m, "http://testserver/fhir/Observation") for m in page.measurements]
    assert all(r["resourceType"] == "Observation" and r["id"] for r in resources)
    made = [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
    ]
    return len(resources), len(made)


def test_one_row_or_two_hundred_cost_the_same_queries(patient_data):
    _answer(patient_data, 1)  # the process learns the access log's head (another test may have moved it)
    one, few = _answer(patient_data, 1)
    many, lots = _answer(patient_data, 200)
    assert (one, many) == (1, 200)
    assert few == lots == QUERIES


def test_every_page_carries_the_total_of_the_whole_search(patient_data):
    query = parse_query({"patient.identifier": [f"{SYSTEM_FNR}|{patient_data}"], "_count": ["100"]})
    counted = parse_query({"patient.identifier": [f"{SYSTEM_FNR}|{patient_data}"], "_summary": ["count"]})
    expected = reads.search(by=INGRID, query=counted, basis=Basis.CARE, reason="", cursor=None).total
    totals, seen, cursor = [], 0, None
    while True:
        page = reads.search(by=INGRID, query=query, basis=Basis.CARE, reason="", cursor=cursor)
        totals.append(page.total)
        seen += len(page.measurements)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert expected > 300 and seen == expected
    assert set(totals) == {expected} and len(totals) > 3


def test_a_search_that_finds_nothing_has_total_zero(patient_data):
    query = parse_query({"patient.identifier": [f"{SYSTEM_FNR}|{patient_data}"], "date": ["lt1990-01-01"]})
    page = reads.search(by=INGRID, query=query, basis=Basis.CARE, reason="", cursor=None)
    assert (page.measurements, page.total, page.next_cursor) == ([], 0, None)


def test_a_page_past_the_end_still_has_the_total(patient_data):
    query = parse_query({"patient.identifier": [f"{SYSTEM_FNR}|{patient_data}"], "_count": ["1000"]})
    everything = reads.search(by=INGRID, query=query, basis=Basis.CARE, reason="", cursor=None)
    assert everything.next_cursor is None
    past_the_end = make_cursor(query, INGRID.sub, everything.measurements[-1])
    page = reads.search(by=INGRID, query=query, basis=Basis.CARE, reason="", cursor=past_the_end)
    assert (page.measurements, page.total) == ([], everything.total)


SEARCHES = [
    {},
    {"code": ["http://loinc.org|8867-4"]},
    {"code": ["8867-4,29463-7"], "_sort": ["date"]},
    {"code": ["http://snomed.info/sct|364075005"]},
    {"code": ["http://example.org/own|x1,8867-4"]},
    {"code": ["http://example.org/own|x1"]},
    {"category": ["vital-signs"], "date": ["ge2000-01-01", "lt2100-01-01"]},
    {"date": ["eq" + "{yesterday}"]},
    {"date": ["ge2000-01-01"]},  # one shape, two values: the second must not get the first's rows
    {"date": ["ge{yesterday}"]},
    {"date": ["gt{month_ago}", "le{yesterday}"], "status": ["final,amended"]},
    {"_lastUpdated": ["gt2000-01-01"], "_count": ["7"]},
    {"_sort": ["-_lastUpdated"], "_count": ["3"]},
    {"status": ["cancelled"]},
    {"_lastUpdated": ["gt2000-01-01"], "status": ["cancelled"]},
]


@pytest.mark.parametrize(
    "search", SEARCHES, ids=lambda s: "&".join(f"{k}={','.join(v)}" for k, v in s.items()) or "all"
)
def test_the_prepared_first_page_is_the_orm_first_page(patient_data, search):
    """The first page runs prepared (`reads._FIRST_PAGE`); the ORM's query of the same search, built as
    a continuation page is, finds the same rows and total."""
    import datetime as dt

    from django.utils import timezone

    from sharing.access.decision import decide
    from sharing.measurements.models import Measurement

    today = timezone.localdate()
    dates = {
        "yesterday": (today - dt.timedelta(days=1)).isoformat(),
        "month_ago": (today - dt.timedelta(days=30)).isoformat(),
    }
    params = {k: [v.format(**dates) for v in values] for k, values in search.items()}
    query = parse_query({"patient.identifier": [f"{SYSTEM_FNR}|{patient_data}"], **params})
    decision = decide(actor=INGRID, patient_value=patient_data, basis=Basis.CARE, reason="")
    assert decision.granted
    shape, values = query.prepared_form()
    prepared = reads._FIRST_PAGE[query.withdrawn].objects(decision, shape, **values)
    matching = query.filter(Measurement.objects.granted(decision, withdrawn=query.withdrawn))
    expected = list(reads._with_total(matching, matching, query))
    assert [m.pk for m in prepared] == [m.pk for m in expected]
    assert [getattr(m, "total", None) for m in prepared[:1]] == [getattr(m, "total", None) for m in expected[:1]]
    assert [reads.as_resource(m, "http://testserver/fhir/Observation") for m in prepared] == [
        reads.as_resource(m, "http://testserver/fhir/Observation") for m in expected
    ]
    # Not vacuous: each finds rows, except a withdrawn one (Kari has none) and a code nobody sent.
    finds = "cancelled" not in str(search) and "x1" not in str(search) or "8867-4" in str(search)
    assert bool(expected) == finds, len(expected)


@pytest.mark.parametrize("per_code", [1, 3])
@pytest.mark.parametrize(
    "search", SEARCHES[:4], ids=lambda s: "&".join(f"{k}={','.join(v)}" for k, v in s.items()) or "all"
)
def test_the_prepared_lastn_is_the_orm_lastn(patient_data, search, per_code):
    from sharing.access.decision import decide
    from sharing.measurements.models import Measurement

    query = parse_query({"patient.identifier": [f"{SYSTEM_FNR}|{patient_data}"], **search})
    decision = decide(actor=INGRID, patient_value=patient_data, basis=Basis.CARE, reason="")
    shape, values = query.prepared_form()
    prepared = reads._LAST_N.objects(decision, shape, max_per_code=per_code, **values)
    expected = list(reads._newest(query.filter(Measurement.objects.granted(decision)), per_code, decision.numbers))
    assert [m.pk for m in prepared] == [m.pk for m in expected]
    assert expected and len({m.kind for m in expected}) * per_code >= len(expected)


def _plan_nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _plan_nodes(child))]


def test_the_prepared_lastn_is_prepared_on_the_server_and_its_generic_plan_probes_by_index(patient_data):
    """$lastn's statement is prepared on the connection (planned once, not per call), and the plan
    PostgreSQL keeps for it (the generic one, forced here) probes the patient's index per code,
    newest first, rather than reading the year."""
    from sharing.access.decision import decide

    query = parse_query({"patient.identifier": [f"{SYSTEM_FNR}|{patient_data}"]})
    decision = decide(actor=INGRID, patient_value=patient_data, basis=Basis.CARE, reason="")
    shape, values = query.prepared_form()
    assert reads._LAST_N.objects(decision, shape, max_per_code=3, **values)
    full_shape, arguments, using = reads._LAST_N._parameters(decision, shape, {"max_per_code": 3, **values})
    _sql, params = reads._LAST_N._prepared.sql(full_shape, using=using, **arguments)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM pg_prepared_statements WHERE statement LIKE %s", ["%measurements_patientcode%"]
        )
        [(name,)] = cursor.fetchall()
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE {name}({', '.join(['%s'] * len(params))})", params)
            [[document]] = cursor.fetchall()
        finally:
            cursor.execute("RESET plan_cache_mode")
    nodes = _plan_nodes(document[0]["Plan"])
    scanned = [
        (n["Node Type"], n.get("Index Name", "")) for n in nodes if n.get("Relation Name") == "measurements_measurement"
    ]
    assert ("Index Scan", "measurement_patient_kind_idx") in scanned, scanned
    assert all(kind != "Seq Scan" for kind, _index in scanned), scanned
