"""Test helpers for the access log: what an intruder with database rights could do, and test data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.db import connection
from django.utils import timezone

from sharing.audit.actions import compute_hash
from sharing.audit.models import AuditEvent


def bypass_triggers(sql: str, params: list[object]) -> None:
    """What an intruder with superuser rights could do; the chain must still tell."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def insert_raw(*, prev_hash: str, pk: int | None = None, reason: str = "inserted") -> int:
    """Insert one well-formed record with SQL (INSERT is not refused: the log is append-only)."""
    values: dict[str, Any] = {
        "occurred_at": timezone.now(),
        "event": "patient.lookup",
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
        "data": {},
        "basis": "",
        "reason": reason,
        "client_id": "",
        "request_id": "",
        "municipalities": "",
        "prev_hash": prev_hash,
    }
    values["hash"] = compute_hash(values)
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
    """The database refuses every new audit record, as a full disk or a lost connection would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_audit_insert() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'audit storage unavailable (test)'; END; $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER test_refuse_audit_insert BEFORE INSERT ON audit_auditevent "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_audit_insert()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS test_refuse_audit_insert ON audit_auditevent")
            cursor.execute("DROP FUNCTION IF EXISTS test_refuse_audit_insert()")
