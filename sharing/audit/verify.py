"""Walk the audit chain and report the first record that does not fit.

The walk starts at the genesis hash, or, after a retention purge, at the hash that the purge's
checkpoint record says the first kept record follows. Each record must follow the one before
(its `prev_hash`), its content must match its hash, and the municipality index must say what the
record says. The first record that breaks one of these is reported, with what most likely
happened to it: altered, removed before it, or inserted.

What a hash chain cannot see: records cut off the end of the log. Note the head the command
prints and pass it back with `--expect ID:HASH` to check that it is still there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import events
from .actions import CHAINED_FIELDS, GENESIS_HASH, OPTIONAL_CHAINED_FIELDS, compute_hash
from .models import AuditEvent, AuditEventMunicipality

ALTERED = "content does not match its hash: the record was altered (or written without the chain key)"
REMOVED_BEFORE = (
    "does not follow the record before it: a record between them was removed, "
    "or the record before it was altered and its hash recomputed"
)
REMOVED_AT_START = (
    "follows a record that is not in the log, and no purge checkpoint accounts for it: records were removed"
)
INSERTED = "was inserted: the chain runs past it"
INSERTED_TWIN = "was inserted: the record after it follows the same predecessor"
INDEX_MISMATCH = "its municipality index rows do not match the record (the index was altered)"


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None = None
    problem: str = ""
    head_id: int | None = None
    head_hash: str = ""
    # Where the walk started: the genesis hash, or the id of the purge checkpoint that vouches for it.
    checkpoint_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def _rows(batch_size: int) -> Iterator[dict[str, Any]]:
    """Every record in id order with its index rows attached, one batch of each per query."""
    fields = ("id", "hash", *CHAINED_FIELDS, *OPTIONAL_CHAINED_FIELDS)
    last_id: int | None = None  # no lower bound at first: a row slipped in below the first id counts too
    while True:
        qs = AuditEvent.objects.all() if last_id is None else AuditEvent.objects.filter(id__gt=last_id)
        batch = list(qs.order_by("id").values(*fields)[:batch_size])
        if not batch:
            return
        indexed: dict[int, list[str]] = defaultdict(list)
        rows = AuditEventMunicipality.objects.filter(event_id__gte=batch[0]["id"], event_id__lte=batch[-1]["id"])
        for event_id, municipality in rows.values_list("event_id", "municipality"):
            indexed[event_id].append(municipality)
        for row in batch:
            row["indexed"] = sorted(indexed.get(row["id"], []))
            yield row
        last_id = batch[-1]["id"]


def _checkpoint_for(first: dict[str, Any]) -> int | None:
    """The purge checkpoint that says the log now starts at `first`, if there is one."""
    # id >= first: when every older record was removed, the first record left is the checkpoint itself.
    candidates = AuditEvent.objects.filter(
        event=events.AUDIT_PURGE, id__gte=first["id"], data__through_hash=first["prev_hash"]
    ).values_list("id", "data")
    for checkpoint_id, data in candidates:
        if isinstance(data.get("through_id"), int) and data["through_id"] < first["id"]:
            return int(checkpoint_id)
    return None


def _with_next(rows: Iterator[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    current = next(rows, None)
    while current is not None:
        following = next(rows, None)
        yield current, following
        current = following


def verify_chain(batch_size: int = 5000) -> ChainReport:
    checked = 0
    expected = GENESIS_HASH
    checkpoint_id: int | None = None
    previous: dict[str, Any] | None = None
    for row, following in _with_next(_rows(batch_size)):
        if previous is None and row["prev_hash"] != GENESIS_HASH:
            if following is not None and following["prev_hash"] == GENESIS_HASH:
                return ChainReport(checked, row["id"], INSERTED)
            checkpoint_id = _checkpoint_for(row)
            if checkpoint_id is None:
                return ChainReport(checked, row["id"], REMOVED_AT_START)
            expected = row["prev_hash"]
        problem = _problem(row, following, previous, expected)
        if problem == INSERTED_TWIN and previous is not None:
            return ChainReport(checked - 1, previous["id"], problem, checkpoint_id=checkpoint_id)
        if problem:
            return ChainReport(checked, row["id"], problem, checkpoint_id=checkpoint_id)
        expected = row["hash"]
        previous = row
        checked += 1
    head = (previous["id"], previous["hash"]) if previous else (None, "")
    return ChainReport(checked, head_id=head[0], head_hash=head[1], checkpoint_id=checkpoint_id)


def _problem(
    row: dict[str, Any], following: dict[str, Any] | None, previous: dict[str, Any] | None, expected: str
) -> str:
    if row["prev_hash"] != expected:
        if following is not None and following["prev_hash"] == expected:
            return INSERTED
        if previous is not None and row["prev_hash"] == previous["prev_hash"]:
            return INSERTED_TWIN
        return REMOVED_BEFORE
    if compute_hash(row) != row["hash"]:
        return ALTERED
    if row["indexed"] != row["municipalities"].split():
        return INDEX_MISMATCH
    return ""


def head_matches(record_id: int, record_hash: str) -> bool:
    """Whether the record noted earlier as the head is still in the log, unchanged."""
    return AuditEvent.objects.filter(id=record_id, hash=record_hash).exists()
