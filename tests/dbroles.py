"""The suite runs as the runtime role; the owner only creates, migrates and empties the test database.

How (tests/conftest.py wires it up):
1. pytest-django's `django_db_setup` creates and migrates `test_<name>` as the DATABASE_URL user,
   the owner (postgres in CI).
2. Still as the owner: `manage.py grant_app_role RUNTIME_ROLE` (creates the role if missing, grants
   exactly what the code needs), then the test-only switch `audit_writes_fail` uses.
3. The default connection is closed and its settings switched to RUNTIME_ROLE: every test, the live
   server, gunicorn started by tests, all log in as the runtime role from here on.
4. Between transactional tests Django empties every table; the runtime role may not (no TRUNCATE,
   and the audit triggers refuse it), so `execute_sql_flush` runs over a separate owner connection
   with triggers off for that statement (session_replication_role, which only a superuser sets).
5. Tests that tamper as an intruder with superuser rights would (`as_owner`) are transactional:
   the owner's connection only sees what the runtime role committed.
At the end the settings go back to the owner, who drops the test database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connections
from django.db.backends.postgresql.operations import DatabaseOperations

RUNTIME_ROLE = os.environ.get("TEST_APP_ROLE", "maaledata_app")
RUNTIME_PASSWORD = os.environ.get("APP_ROLE_PASSWORD", "")
_owner: dict[str, Any] = {}

# The switch behind tests/sharing/audit/helpers.py `audit_writes_fail`: while the table has a row,
# the database refuses every new audit record, as a full disk would. Installed by the owner after
# grant_app_role, so the owner's default privileges let the runtime role flip it.
TEST_SWITCHES = """
CREATE TABLE IF NOT EXISTS test_audit_unavailable (since timestamptz NOT NULL DEFAULT now());
CREATE OR REPLACE FUNCTION test_refuse_audit_insert() RETURNS trigger AS $$ BEGIN
    IF EXISTS (SELECT 1 FROM test_audit_unavailable) THEN
        RAISE EXCEPTION 'audit storage unavailable (test)';
    END IF;
    RETURN NEW;
END; $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS test_refuse_audit_insert ON audit_auditevent;
CREATE TRIGGER test_refuse_audit_insert BEFORE INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION test_refuse_audit_insert();
"""


def _use(user: str, password: str) -> None:
    for connection in connections.all(initialized_only=True):
        connection.close()
    settings_dict = connections["default"].settings_dict
    settings_dict["USER"], settings_dict["PASSWORD"] = user, password


def become_runtime_role() -> None:
    """From now on the default connection logs in as the runtime role (call after migrating)."""
    settings_dict = connections["default"].settings_dict
    _owner.update(settings_dict)
    _use(RUNTIME_ROLE, RUNTIME_PASSWORD)


def owner_user() -> str:
    return str(_owner["USER"])


def become_owner_again() -> None:
    _use(_owner["USER"], _owner["PASSWORD"])


@contextmanager
def as_owner() -> Iterator[None]:
    """The default connection as the owner for a moment (transactional tests only: it sees committed rows)."""
    _use(_owner["USER"], _owner["PASSWORD"])
    try:
        yield
    finally:
        _use(RUNTIME_ROLE, RUNTIME_PASSWORD)


def owner_connection() -> psycopg.Connection[Any]:
    """A connection of the owner's to the test database, outside Django's."""
    s = _owner or connections["default"].settings_dict
    return psycopg.connect(
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        dbname=s["NAME"],
        user=s["USER"],
        password=s["PASSWORD"] or None,
        autocommit=False,
    )


def _flush_as_owner(self: DatabaseOperations, sql_list: list[str]) -> None:
    """Between transactional tests Django empties every table: the owner does it, triggers off for it."""
    with owner_connection() as conn:
        conn.execute("SET session_replication_role = replica")
        for sql in sql_list:
            conn.execute(sql)  # type: ignore[call-overload]


def install() -> None:
    DatabaseOperations.execute_sql_flush = _flush_as_owner  # type: ignore[method-assign]
