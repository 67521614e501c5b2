"""Several statements in one round trip, each bound on the server: psycopg's pipeline mode on
Django's own PostgreSQL connection.

A message of several statements (`BEGIN; …; COMMIT`) is one round trip too, but only in the
simple query protocol, where psycopg must quote every parameter into the text in Python. The
access log's record is such a message, with some thirty parameters, and quoting them was a sixth
of its time. A pipeline sends the same statements with their parameters bound on the server and
waits once, at its end. They are never prepared, not even after `prepare_threshold` uses:
preparing measured no faster here, and psycopg 3.3 can lose track of a statement prepared in a
pipeline that failed (a later call then fails with 'prepared statement "_pg3_3" does not exist',
seen with racing writers in tests/sharing/audit/test_concurrency.py).

The pipeline runs inside one execution of Django's cursor wrapper, so what Django does for a
statement it does for the pipeline once: database errors become Django's, `execute_wrapper`s see
the statements' text (joined with "; ") and may refuse it before anything is sent, and the query
log (tests' `CaptureQueriesContext`) records one entry, as for one round trip. An error from the
server is raised when the pipeline ends; the statements after the failed one are skipped, and a
transaction the statements opened is left for the caller to roll back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection as default_connection

__all__ = ["Statement", "one_round_trip"]


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Sequence[Any] | None = None


@dataclass(frozen=True)
class _Query:  # what Django's query log reads of a psycopg cursor's last query (`_query.query`)
    query: bytes


class _PipelineCursor(psycopg.Cursor[Any]):
    """Executes the statements it is given as its parameters in one pipeline; `per_statement`
    holds, per statement, its rows (or None for a statement that returns none)."""

    per_statement: list[list[tuple[Any, ...]] | None]

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        statements: Sequence[Statement] = params
        self._query = _Query(str(query).encode())  # type: ignore[assignment]
        cursors = [psycopg.Cursor(self.connection) for _ in statements]
        with self.connection.pipeline():
            for cursor, statement in zip(cursors, statements, strict=True):
                cursor.execute(statement.sql, statement.params, prepare=False)  # not after prepare_threshold either
        self.per_statement = [cursor.fetchall() if cursor.description is not None else None for cursor in cursors]
        return self


def one_round_trip(statements: Sequence[Statement], connection: Any = None) -> list[list[tuple[Any, ...]] | None]:
    """Run `statements` on Django's PostgreSQL connection in one round trip; per statement, its
    rows (None where it returns none)."""
    connection = connection or default_connection
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection._prepare_cursor(_PipelineCursor(connection.connection))
    with cursor:
        cursor.execute("; ".join(statement.sql for statement in statements), statements)
        return list(cursor.cursor.per_statement)
