"""A value that may be used once (a DPoP proof's jti), checked but not yet recorded as used.

The FHIR read API verifies a proof when the request arrives and records its jti with the
request's audit record, in the statement that writes the record (sharing/audit/actions.py): one
round trip less on every read. A jti used before makes that statement insert nothing and raise
`ClaimRefused`, so nothing is handed out. A request that writes no audit record (a resource not
found) has its claim recorded on its own before the answer leaves (sharing/fhir/read_views.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


class ClaimRefused(Exception):
    """The value was used before: a replay."""


@dataclass(eq=False)
class OneTimeClaim:
    """`value` to insert into `table` (unique on `key`, with the time in `seen`), refused if present.

    `table`, `key` and `seen` are the claiming module's own names, never input. `claimed` is set
    once the row is committed.
    """

    table: str
    key: str
    seen: str
    value: str
    at: dt.datetime
    claimed: bool = False
