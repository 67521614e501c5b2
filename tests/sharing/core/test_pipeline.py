"""Several statements in one round trip, bound on the server (sharing/core/pipeline.py)."""

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from sharing.core.pipeline import Statement, one_round_trip
from sharing.fhir.models import UsedDpopProof

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = UsedDpopProof._meta.db_table
INSERT = f"INSERT INTO {TABLE} (jti, seen_at) VALUES (%s, now()) RETURNING jti"  # noqa: S608


def _skip_unless_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("pipeline mode is PostgreSQL's (psycopg)")


def test_each_statements_rows_come_back_in_order_from_one_logged_execution():
    _skip_unless_postgresql()
    statements = [
        Statement("BEGIN"),
        Statement(INSERT, ["a"]),
        Statement("SELECT %s::int + %s::int", [2, 3]),
        Statement("COMMIT"),
    ]
    with CaptureQueriesContext(connection) as queries:
        rows = one_round_trip(statements)
    assert rows == [None, [("a",)], [(5,)], None]
    assert len(queries) == 1 and queries[0]["sql"].startswith("BEGIN; INSERT INTO")
    assert list(UsedDpopProof.objects.values_list("jti", flat=True)) == ["a"]


def test_values_are_bound_on_the_server_not_quoted_into_the_text():
    _skip_unless_postgresql()
    tricky = "x'); DROP TABLE fhir_useddpopproof; --"
    (rows,) = one_round_trip([Statement(INSERT, [tricky])])
    assert rows == [(tricky,)]
    assert UsedDpopProof.objects.get().jti == tricky


def test_a_refusal_by_an_execute_wrapper_sends_nothing():
    _skip_unless_postgresql()

    def refuse(execute, sql, params, many, context):
        if f"INSERT INTO {TABLE}" in sql:
            raise IntegrityError("refused before it was sent")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse), pytest.raises(IntegrityError):
        one_round_trip([Statement(INSERT, ["b"])])
    assert not UsedDpopProof.objects.exists()


def test_a_server_error_skips_what_follows_and_is_djangos_error():
    _skip_unless_postgresql()
    UsedDpopProof.objects.create(jti="taken")
    statements = [Statement("BEGIN"), Statement(INSERT, ["taken"]), Statement(INSERT, ["new"]), Statement("COMMIT")]
    with pytest.raises(IntegrityError):
        one_round_trip(statements)
    with connection.cursor() as cursor:
        cursor.execute("ROLLBACK")  # the caller's to end, as the access log's write does
    assert list(UsedDpopProof.objects.values_list("jti", flat=True)) == ["taken"]
    # The connection is usable again, pipeline and all.
    assert one_round_trip([Statement("SELECT 1")]) == [[(1,)]]


def test_statements_are_never_prepared_so_a_failed_pipeline_leaves_nothing_stale():
    # Django's settings set psycopg's prepare_threshold; a statement prepared inside a pipeline
    # that then failed could be forgotten by the server but not by psycopg.
    _skip_unless_postgresql()
    for n in range(8):
        try:
            one_round_trip([Statement("BEGIN"), Statement(INSERT, ["same"]), Statement("COMMIT")])
        except IntegrityError:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
        assert one_round_trip([Statement("SELECT %s::int", [n])]) == [[(n,)]]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{TABLE}%"])
        assert cursor.fetchone() == (0,)
