"""The hot standby: which reads it serves, when it may not, and what commits wait for it.

With `REPLICA_DATABASE_URL` set (docs/scaling.md, "The hot standby"), the settings add a
database alias `replica` and `StandbyRouter`. The standby serves one thing: the gather of the one
door (`sharing.access.door.audited_read`), i.e. the patient data a page or an API read hands
out, run inside `on_standby`. Everything else stays on the primary: the access decision (a
terminated agreement must stop access at once), the audit record (committed on the primary
before anything is returned), sessions, logins, ingest, and every write.

`on_standby` uses the standby only when
- its replay lag is at most REPLICA_MAX_LAG_MS (checked with one cheap query on the standby,
  the answer kept for REPLICA_LAG_CACHE_MS per process), and it is reachable and streaming;
- the primary's current transaction, if any, has written nothing (PostgreSQL's
  `pg_current_xact_id_if_assigned()`): a read after a write in the same transaction must see it.
Otherwise, or if the standby fails during the read, the read runs on the primary.

`synchronous_commit()`: ingest and the access log call it inside their transaction; with
REPLICA_SYNCHRONOUS_COMMIT set it runs `SET LOCAL synchronous_commit`, so the commit returns only
when the standby has the record (the primary's `synchronous_standby_names` names the standby).

With no replica configured nothing here sends a query: behaviour and query counts are as without it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

REPLICA = "replica"
SYNCHRONOUS_COMMIT_LEVELS = ("", "local", "remote_write", "on", "remote_apply")

T = TypeVar("T")

# The alias the current `on_standby` section reads from (None: the router says nothing).
_reading_from: ContextVar[str | None] = ContextVar("reading_from", default=None)

# What the standby answered about itself: one query on the standby, no privileges needed.
# Not in recovery: it was promoted (it is a primary now), so it is current. In recovery without a
# WAL receiver it is cut off from the primary and its lag is unknown: not usable.
_LAG_SQL = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver),
       pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(),
       COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000, 0)
"""


@dataclass(frozen=True)
class StandbyState:
    usable: bool
    lag_ms: float | None  # None: unknown (down, or cut off from the primary)
    reason: str  # "ok", "lag", "down", "not streaming"
    checked_at: float


_lock = threading.Lock()
_state: StandbyState | None = None


def configured() -> bool:
    return REPLICA in settings.DATABASES


def forget_state() -> None:
    """Drop the cached lag answer (tests, and after a failure seen during a read)."""
    global _state
    with _lock:
        _state = None


def _mark_down(reason: str) -> None:
    global _state
    with _lock:
        _state = StandbyState(False, None, reason, time.monotonic())


def standby_state() -> StandbyState:
    """The standby's usability, asked at most once per REPLICA_LAG_CACHE_MS in this process."""
    global _state
    now = time.monotonic()
    with _lock:
        cached = _state
    if cached is not None and (now - cached.checked_at) * 1000 < settings.REPLICA_LAG_CACHE_MS:
        return cached
    standby = connections[REPLICA]
    try:
        with standby.cursor() as cursor:
            cursor.execute(_LAG_SQL)
            in_recovery, streaming, caught_up, since_replay_ms = cursor.fetchone()
    except DatabaseError:
        standby.close()
        state = StandbyState(False, None, "down", now)
    else:
        if not in_recovery or caught_up and streaming:
            lag = 0.0
        elif not streaming:
            lag = None
        else:
            lag = float(since_replay_ms)
        if lag is None:
            state = StandbyState(False, None, "not streaming", now)
        else:
            usable = lag <= settings.REPLICA_MAX_LAG_MS
            state = StandbyState(usable, lag, "ok" if usable else "lag", now)
    with _lock:
        _state = state
    return state


def _primary_has_written() -> bool:
    primary = connections[DEFAULT_DB_ALIAS]
    if not primary.in_atomic_block:
        return False
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")
        row = cursor.fetchone()
    return bool(row and row[0])


def read_alias() -> str:
    """Where a read-only section would read now: the standby if it may, else the primary."""
    if not configured() or _primary_has_written():
        return DEFAULT_DB_ALIAS
    return REPLICA if standby_state().usable else DEFAULT_DB_ALIAS


@contextmanager
def _reading(alias: str) -> Iterator[None]:
    token = _reading_from.set(alias)
    try:
        yield
    finally:
        _reading_from.reset(token)


def on_standby(read: Callable[[], T]) -> T:
    """Run the read-only `read` on the standby when it may serve it (see the module), else the primary.

    Every query of `read` goes to one database. If the standby fails during the read, it is
    marked down (for REPLICA_LAG_CACHE_MS) and `read` runs again on the primary.
    """
    if not configured():
        return read()
    alias = read_alias()
    if alias == DEFAULT_DB_ALIAS:
        with _reading(DEFAULT_DB_ALIAS):
            return read()
    standby = connections[REPLICA]
    standby.errors_occurred = False
    try:
        with _reading(REPLICA):
            return read()
    except DatabaseError:
        if not standby.errors_occurred:
            raise  # not the standby's failure
        standby.close()
        _mark_down("down")
    with _reading(DEFAULT_DB_ALIAS):
        return read()


class StandbyRouter:
    """Reads inside `on_standby` go where it chose; every write, and every other read, to the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        return _reading_from.get() or DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


def synchronous_commit_sql() -> str:
    """The statement that makes the current transaction's commit wait for the standby, or "".

    For callers that send it in the same message as their own statements (the access log's
    two-round-trip write). Without the setting (or off PostgreSQL) it is empty.
    """
    level = settings.REPLICA_SYNCHRONOUS_COMMIT
    if not level or connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return ""
    if level not in SYNCHRONOUS_COMMIT_LEVELS:  # the settings refuse others too: never SQL from elsewhere
        raise ValueError(f"REPLICA_SYNCHRONOUS_COMMIT {level!r}")
    return f"SET LOCAL synchronous_commit = {level};"


def synchronous_commit() -> None:
    """Within the current transaction: its commit waits for the standby (REPLICA_SYNCHRONOUS_COMMIT).

    Called by ingest and the access log. Without the setting (or off PostgreSQL) it sends nothing.
    """
    if sql := synchronous_commit_sql():
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(sql)
