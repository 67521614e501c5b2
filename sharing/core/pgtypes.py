"""timestamptz read by psycopg's C loader, with the time zone Django gives it.

Django's PostgreSQL backend registers its own timestamptz loader on every connection (to set
the connection's time zone on each value) and derives it from psycopg's pure-Python loader, so
with psycopg's C extension installed every timestamp is still parsed in Python: 837 of them on
a year's chart page, 3,000 on a search page of 1,000 rows. The C loader cannot be subclassed
(psycopg issue 1273, Django ticket 36960), so this loader wraps it and does what Django's does
after parsing: replace the time zone with the connection's (UTC, USE_TZ). Registered on each new
connection by the project's backend (sharing/core/postgresql), with the same `timezone`
attribute Django's create_cursor compares, so Django keeps it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import adapters
from psycopg.adapt import Loader
from psycopg.pq import Format

TIMESTAMPTZ_OID = adapters.types["timestamptz"].oid
# psycopg's own loader: the C one when psycopg's binary extension is installed, else Python.
_FASTEST: Any = adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


def tz_loader(zone: dt.tzinfo | None) -> type[Loader]:
    """A text timestamptz loader that parses with psycopg's fastest and sets `zone`, as Django's."""

    class FastTzLoader(Loader):
        timezone = zone  # what Django's create_cursor compares before registering its own

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._parse = _FASTEST(oid, context).load

        def load(self, data: Any) -> dt.datetime:
            moment: dt.datetime = self._parse(data)
            return moment.replace(tzinfo=zone)

    return FastTzLoader
