"""Test helpers for the access log: what an intruder with database rights could do, and test data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.db import connection
from django.utils import timezone

from sharing.audit.actions import GENESIS_HASH, compute_hash
from sharing.audit.models import AuditEvent
from tests.dbroles import as_owner


def bypass_triggers(sql: str, params: list[object]) -> None:
    """What an intruder with superuser rights could do; the chain must still tell.

    As the owner (a superuser in tests), so only in transactional tests: it sees committed rows.
    """
    with as_owner(), connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def insert_raw(
    *,
    prev_hash: str,
    pk: int | None = None,
    reason: str = "inserted",
    event: str = "patient.lookup",
    data: dict[str, Any] | None = None,
    hasher: Callable[[dict[str, Any]], str] = compute_hash,
) -> int:
    """Insert one well-formed record with SQL (INSERT is not refused: the log is append-only)."""
    values: dict[str, Any] = {
        "occurred_at": timezone.now(),
        "event": event,
        "outcome": "granted",
        "actor_sub": "intruder",
        "actor_pid": "",
        "actor_hpr": "",
        "actor_name": "Intruder",
        "actor_role": "",
        "org_parent": "",
        "org_parent_name": "",
        "org_child": "",
        "org_child_name": "",
        "patient_system": "",
        "patient_value": "",
        "data": data or {},
        "basis": "",
        "reason": reason,
        "client_id": "",
        "request_id": "",
        "municipalities": "",
        "prev_hash": prev_hash,
    }
    values["hash"] = hasher(values)
    row = AuditEvent(**values) if pk is None else AuditEvent(pk=pk, **values)
    AuditEvent.objects.bulk_create([row])
    if pk is not None:
        return pk
    return int(AuditEvent.objects.filter(hash=values["hash"]).values_list("pk", flat=True).get())


@contextmanager
def clock(at: dt.datetime) -> Iterator[None]:
    """Records written inside get `at` as their time (the log takes its time from timezone.now)."""
    with mock.patch("sharing.audit.actions.timezone.now", return_value=at):
        yield


@contextmanager
def audit_writes_fail() -> Iterator[None]:
    """The database refuses every new audit record, as a full disk or a lost connection would.

    Flips the test-only switch the owner installed (tests/dbroles.py): a row in
    test_audit_unavailable makes a trigger refuse inserts into the log.
    """
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO test_audit_unavailable DEFAULT VALUES")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM test_audit_unavailable")


def rewrite_chain(hasher: Callable[[dict[str, Any]], str], *, change: dict[int, str] | None = None) -> None:
    """An intruder with superuser rights rewrites every record (`change`: id -> new reason) and rehashes
    the whole chain with `hasher` (the chain key's HMAC if they hold it, else something else)."""
    rows = list(AuditEvent.objects.order_by("id").values())
    previous = GENESIS_HASH if rows and rows[0]["prev_hash"] == GENESIS_HASH else rows[0]["prev_hash"]
    updates = []
    for row in rows:
        row["reason"] = (change or {}).get(row["id"], row["reason"])
        row["prev_hash"] = previous
        row["hash"] = previous = hasher(row)
        updates.append((row["reason"], row["prev_hash"], row["hash"], row["id"]))
    # Move every hash aside first: the unique constraints must not trip half-way.
    bypass_triggers("UPDATE audit_auditevent SET hash = 'x' || id, prev_hash = 'y' || id", [])
    for update in updates:
        bypass_triggers(
            "UPDATE audit_auditevent SET reason = %s, prev_hash = %s, hash = %s WHERE id = %s", list(update)
        )


def remove(*ids: int) -> None:
    """An intruder with superuser rights deletes records (and their index rows)."""
    bypass_triggers("DELETE FROM audit_auditeventmunicipality WHERE event_id = ANY(%s)", [list(ids)])
    bypass_triggers("DELETE FROM audit_auditevent WHERE id = ANY(%s)", [list(ids)])
