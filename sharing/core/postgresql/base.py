"""Django's PostgreSQL backend, with timestamps read in C and a health check without a round trip.

- Every new connection reads timestamptz with psycopg's C loader (sharing/core/pgtypes.py).
- CONN_HEALTH_CHECKS asks, at the first query of each request on a persistent connection, whether
  the connection still works. Django asks the server (SELECT 1), a round trip on every request.
  Here the socket is asked first: on an idle connection the server sends nothing unless it is
  ending the session (a restart, a failover, an administrator's terminate: PostgreSQL writes its
  reason and closes the socket, which then reads as ready). Only then is the server asked, so a
  connection broken by a failover is still replaced before the request uses it. A server that
  vanishes without closing the socket (a cut network) is found by neither check before the query.
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus

from sharing.core.pgtypes import tz_loader


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        connection.adapters.register_loader("timestamptz", tz_loader(self.timezone))
        return connection

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return super().is_usable()
        try:
            ready = _readable(connection.fileno())
        except (OSError, ValueError):  # the socket cannot be asked: ask the server
            return super().is_usable()
        # Something arrived unasked (the server's goodbye, or a rare notice): ask the server.
        return super().is_usable() if ready else True


def _readable(fd: int) -> bool:
    """Whether the socket has something to read, without waiting (poll has no limit on fd numbers)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)
