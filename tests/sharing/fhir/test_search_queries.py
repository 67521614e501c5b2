"""A FHIR search answer costs a fixed number of queries, however many rows it renders."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sharing.access.actor import Actor, Role
from sharing.access.basis import Basis
from sharing.demo import LOVISENBERG, LOVISENBERG_MEDICAL
from sharing.fhir import reads
from sharing.fhir.search import parse_query
from sharing.identifiers import SYSTEM_FNR

pytestmark = pytest.mark.django_db

INGRID = Actor(
    sub="sub-ingrid",
    pid="12837826592",
    hpr_number="565501872",
    name="Ingrid Berg",
    security_level="4",
    orgnr_parent=LOVISENBERG,
    orgnr_child=LOVISENBERG_MEDICAL,
    roles=frozenset({Role.CLINICIAN}),
)
# lookup limit, decision (2), total, page, audit record (chain head, insert)
QUERIES = 7


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
    one, few = _answer(patient_data, 1)
    many, lots = _answer(patient_data, 200)
    assert (one, many) == (1, 200)
    assert few == lots == QUERIES
