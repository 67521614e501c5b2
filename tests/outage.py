"""The database going away, for tests without the standby clusters (tests/replica does it for real).

`database_unreachable`: the connection is closed and pointed at a loopback port nobody listens
on, so the next statement fails to connect, as while the primary is down and not yet replaced.
`connection_drops_at`: every statement naming a table fails as a connection dropped mid-request
does (an OperationalError with no answer from the server).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.db import OperationalError, connection
from django.db.backends.utils import CursorWrapper


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # free again, and nothing listens on it


@contextmanager
def database_unreachable() -> Iterator[None]:
    saved = (connection.settings_dict["HOST"], connection.settings_dict["PORT"])
    connection.close()
    connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", str(_closed_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = saved


@contextmanager
def connection_drops_at(table: str) -> Iterator[list[str]]:
    """Yields the statements that failed."""
    failed: list[str] = []
    execute = CursorWrapper._execute

    def dropped(self: CursorWrapper, sql: str, params: Any, *args: Any) -> Any:
        if table in sql:
            failed.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(self, sql, params, *args)

    with mock.patch.object(CursorWrapper, "_execute", dropped):
        yield failed
