"""The project's PostgreSQL backend: a health check that asks the socket, and the server only when
the socket says something arrived (sharing/core/postgresql/base.py)."""

import time

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def _other_connection():
    """A second session as the same role: it may see and end the test's own session."""
    other = connection.get_new_connection(connection.get_connection_params())
    other.autocommit = True
    return other


def _last_query_of(other, pid: int) -> str:
    return other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def test_a_live_idle_connection_is_usable_without_asking_the_server():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), 'before the check'")
        pid = cursor.fetchone()[0]
    other = _other_connection()
    try:
        assert connection.is_usable()
        assert "before the check" in _last_query_of(other, pid)  # no SELECT 1 was sent
    finally:
        other.close()


def test_a_connection_the_server_ended_is_not_usable_and_is_replaced_at_the_next_request():
    connection.health_check_enabled = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = _other_connection()
    try:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(50):  # the server's goodbye reaches the socket at once; allow a moment
            if not other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                break
            time.sleep(0.02)
        assert not connection.is_usable()
        # What Django does at a request's first query: the check fails, a new connection is made.
        connection.health_check_done = False
        connection.close_if_health_check_failed()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] != pid
    finally:
        other.close()


def test_timestamps_are_read_by_the_fast_loader_on_every_new_connection():
    connection.close()
    with connection.cursor() as cursor:
        assert cursor.cursor.adapters.get_loader(1184, 0).__name__ == "FastTzLoader"
