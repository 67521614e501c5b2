"""The one way to write an audit record.

Records form a hash chain: each carries the hash of the one before, so an altered,
removed or inserted row breaks the chain and `verify_audit` finds it. Writers are
serialised by a transaction-scoped advisory lock on PostgreSQL (SQLite allows one
writer at a time anyway), so concurrent writers never fork the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from sharing.access.actor import Actor

from .models import AuditEvent

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the audit chain's advisory lock.
_CHAIN_LOCK_ID = 0x4155444954

CHAINED_FIELDS = (
    "occurred_at",
    "event",
    "outcome",
    "actor_sub",
    "actor_pid",
    "actor_hpr",
    "actor_name",
    "actor_role",
    "org_parent",
    "org_parent_name",
    "org_child",
    "org_child_name",
    "patient_system",
    "patient_value",
    "data",
    "basis",
    "reason",
    "client_id",
    "request_id",
    "prev_hash",
)


def compute_hash(values: Mapping[str, Any]) -> str:
    """The hash of one record's content and its predecessor's hash."""
    canonical = {name: values[name] for name in CHAINED_FIELDS}
    canonical["occurred_at"] = values["occurred_at"].astimezone(dt.UTC).isoformat()
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def record_event(
    *,
    event: str,
    outcome: str,
    by: Actor | None,
    patient_system: str = "",
    patient_value: str = "",
    data: Mapping[str, Any] | None = None,
    basis: str = "",
    reason: str = "",
) -> AuditEvent:
    """Append one record and commit it before returning (unless the caller holds a transaction)."""
    actor = by or Actor()
    values: dict[str, Any] = {
        "occurred_at": timezone.now(),
        "event": event,
        "outcome": outcome,
        "actor_sub": actor.sub,
        "actor_pid": actor.pid,
        "actor_hpr": actor.hpr_number,
        "actor_name": actor.name,
        "actor_role": actor.role_label,
        "org_parent": actor.orgnr_parent,
        "org_parent_name": actor.org_parent_name,
        "org_child": actor.orgnr_child,
        "org_child_name": actor.org_child_name,
        "patient_system": patient_system,
        "patient_value": patient_value,
        # Round-trip through JSON so the hash sees exactly what the database will store.
        "data": json.loads(json.dumps(dict(data or {}), default=str)),
        "basis": basis,
        "reason": reason,
        "client_id": actor.client_id,
        "request_id": actor.request_id,
    }
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        values["prev_hash"] = last or GENESIS_HASH
        values["hash"] = compute_hash(values)
        return AuditEvent.objects.create(**values)
