"""What counts as the database being unavailable (sharing.core.outage): the server gone or not
taking connections, not a statement that failed on a server that is there."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from django import db
from psycopg import errors

from sharing.audit.actions import AuditUnavailable
from sharing.core.outage import database_unavailable


def _wrapped(cause: Exception, as_: type[Exception] = db.OperationalError) -> Exception:
    """As Django raises it: its own class, the driver's error as the cause."""
    try:
        raise as_(str(cause)) from cause
    except Exception as exc:  # noqa: BLE001 - built to be inspected
        return exc


@pytest.mark.parametrize(
    "exc",
    [
        _wrapped(psycopg.OperationalError("connection to server at 127.0.0.1 failed: Connection refused")),
        _wrapped(psycopg.OperationalError("server closed the connection unexpectedly")),
        _wrapped(errors.AdminShutdown("terminating connection due to administrator command")),
        _wrapped(errors.CannotConnectNow("the database system is starting up")),
        _wrapped(errors.ConnectionFailure("connection failure")),
        _wrapped(errors.TooManyConnections("too many clients already")),
        _wrapped(psycopg.InterfaceError("the connection is closed"), db.InterfaceError),
        psycopg.OperationalError("consuming input failed: EOF"),  # storage.py's own psycopg cursor
        db.OperationalError("a mocked cursor's failure, no server answer"),
    ],
    ids=lambda e: type(e).__name__ + ":" + str(e)[:30],
)
def test_a_server_gone_or_refusing_connections_is_unavailable(exc):
    assert database_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        _wrapped(errors.QueryCanceled("canceling statement due to statement timeout")),
        _wrapped(sqlite3.OperationalError('near "AT": syntax error')),  # `make run`'s SQLite: a query it cannot run
        _wrapped(errors.DeadlockDetected("deadlock detected")),
        _wrapped(errors.UniqueViolation("duplicate key"), db.IntegrityError),
        _wrapped(errors.ReadOnlySqlTransaction("cannot execute INSERT"), db.InternalError),
        RuntimeError("not a database error at all"),
    ],
    ids=lambda e: type(e).__name__ + ":" + str(e)[:30],
)
def test_a_statement_that_failed_on_a_server_that_is_there_is_not(exc):
    assert not database_unavailable(exc)


def test_an_audit_record_lost_with_the_connection_is_unavailable_and_one_refused_is_not():
    def audit_failure(cause: Exception) -> Exception:
        try:
            raise AuditUnavailable("audit record 'api.lastn' not written") from cause
        except AuditUnavailable as exc:
            return exc

    assert database_unavailable(audit_failure(_wrapped(psycopg.OperationalError("server closed the connection"))))
    refused = _wrapped(errors.InsufficientPrivilege("audit log is append-only"), db.ProgrammingError)
    assert not database_unavailable(audit_failure(refused))
