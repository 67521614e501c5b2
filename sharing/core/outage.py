"""When the database cannot be reached: a failover, a restart, a dropped connection.

While the primary is down or the standby is being promoted (docs/scaling.md, "Failover"), every
statement fails with an OperationalError or an InterfaceError. Such a request is answered 503 with
Retry-After, not 500: the API with a coded OperationOutcome (`transient`, sharing/fhir/errors.py),
the portal with a page of its own (portal/errors.py); and the application log says so. Nothing is
shown: the one door returns nothing whose audit record is not committed, and a record that cannot
be written is AuditUnavailable, a 503 as well.

Only the database going away counts. A statement that fails while the server is there (a
deadlock, a cancelled query, a constraint) is an error of its own and keeps its answer.
"""

from __future__ import annotations

import logging

import psycopg
from django import db
from django.conf import settings

logger = logging.getLogger(__name__)

_INTERFACE = (db.InterfaceError, psycopg.InterfaceError)
_OPERATIONAL = (db.OperationalError, psycopg.OperationalError)
# SQLSTATEs of a server that went away or takes no connection now: connection exceptions (08…),
# shut down by an operator or a crash (57P01, 57P02), starting up, shutting down or in recovery
# (57P03), no connection slot free (53300). A connection that failed before the server said
# anything (refused, closed unexpectedly, timed out) has none.
_GONE = ("08", "57P01", "57P02", "57P03", "53300")


def _sqlstate(exc: BaseException) -> str | None:
    for candidate in (exc, exc.__cause__):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if state:
            return str(state)
    return None


def _from_another_driver(exc: BaseException) -> bool:
    """Django's error wrapping another database driver's than PostgreSQL's."""
    cause = exc.__cause__
    return not isinstance(exc, psycopg.Error) and cause is not None and not isinstance(cause, psycopg.Error)


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc`, or what caused it (an AuditUnavailable raised by a lost connection), says the
    database cannot be reached."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, _INTERFACE):
            return True
        if isinstance(exc, _OPERATIONAL):
            if _from_another_driver(exc):  # SQLite (`make run`) calls a syntax error OperationalError
                return False
            state = _sqlstate(exc)
            return state is None or state.startswith(_GONE)
        exc = exc.__cause__ or exc.__context__
    return False


def retry_after() -> str:
    """The Retry-After header's value, in seconds (DATABASE_RETRY_AFTER_SECONDS)."""
    return str(settings.DATABASE_RETRY_AFTER_SECONDS)


def log_unavailable(exc: BaseException, *, method: str, path: str) -> None:
    """One warning per request answered 503 for it (the message is the driver's, never the query's data)."""
    logger.warning(
        "database unavailable: %s %s answered 503 (%s, sqlstate %s): %s",
        method,
        path,
        type(exc).__name__,
        _sqlstate(exc) or "none",
        str(exc).strip().splitlines()[0][:300] if str(exc).strip() else "",
    )
