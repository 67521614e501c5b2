"""Walk the audit chain and report the first record that does not fit, naming what happened to it.

The walk starts at the genesis hash, or, after a retention purge, at the hash that the purge's
checkpoint record says the first kept record follows; such a checkpoint counts only when the
owner's purge function wrote it (a matching row in its ledger, `AuditPurge`). Each record must
follow the one before (its `prev_hash`), its content must match its HMAC with the chain key, the
municipality index must say what the record says, and every `audit.purge` checkpoint must be in
the ledger. The first record that breaks one of these is reported with what most likely happened:
altered, hashed without the key, records removed before it (how many ids, which), inserted,
swapped with the next, or a forged checkpoint.

What a hash chain cannot see alone: records cut off its end, or a chain rewritten from some point
on by someone holding the key. The anchors (`anchors.py`, `audit_anchor`) see both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from . import events
from .actions import CHAINED_FIELDS, GENESIS_HASH, OPTIONAL_CHAINED_FIELDS, compute_hash, unkeyed_hash
from .models import AuditEvent, AuditEventMunicipality, AuditPurge

ALTERED = "content does not match its hash: the record was altered"
WITHOUT_KEY = (
    "was hashed without the chain key (plain SHA-256): written, or the chain recomputed, by someone who "
    "does not hold AUDIT_CHAIN_KEY"
)
REMOVED_BEFORE = "does not follow the record before it: records between them were removed"
REWRITTEN_BEFORE = (
    "does not follow the record before it, and no id is missing between them: the record before it was "
    "replaced by one rehashed with the chain key"
)
REMOVED_AT_START = (
    "follows a record that is not in the log, and no purge checkpoint accounts for it: records were removed"
)
FORGED_START = (
    "follows a record that is not in the log, and the purge checkpoint that claims to account for it is forged "
    "(the owner's purge function did not write it: no entry in the purge ledger): records were removed"
)
FORGED_CHECKPOINT = (
    "is a purge checkpoint the owner's purge function did not write (no matching entry in the purge ledger): forged"
)
INAUTHENTIC_CHECKPOINT = (
    "is a purge checkpoint that is not authentic: its hash was not made with the chain key (altered, or written "
    "by someone who does not hold AUDIT_CHAIN_KEY)"
)
INSERTED = "was inserted: the chain runs past it"
INSERTED_TWIN = "was inserted: the record after it follows the same predecessor"
SWAPPED = "is out of order: it and the record after it were swapped"
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
    # Specifics: which ids are missing, which checkpoint is forged.
    detail: str = ""
    missing_ids: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None

    def describe(self) -> str:
        detail = f"; {self.detail}" if self.detail else ""
        return f"Audit record {self.first_bad_id}: {self.problem}{detail} ({self.checked} verified before it)."


def id_ranges(ids: Iterable[int]) -> str:
    """'4, 5, 9' as '4–5, 9'."""
    parts: list[str] = []
    start = previous = None
    for value in sorted(ids):
        if previous is not None and value == previous + 1:
            previous = value
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}–{previous}")
        start = previous = value
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}–{previous}")
    return ", ".join(parts)


def _missing(low: int, high: int) -> tuple[str, tuple[int, ...]]:
    ids = tuple(range(low, high))
    if not ids:
        return "", ()
    return (
        f"{len(ids)} record{'s' if len(ids) != 1 else ''} missing: id{'s' if len(ids) != 1 else ''} {id_ranges(ids)}",
        ids,
    )


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


def _ledger() -> dict[int, AuditPurge]:
    return {purge.checkpoint_id: purge for purge in AuditPurge.objects.all()}


def _authentic(checkpoint_id: int, checkpoint_hash: str, data: dict[str, Any], ledger: dict[int, AuditPurge]) -> bool:
    """Whether the owner's purge function wrote this checkpoint (its ledger row agrees with it)."""
    entry = ledger.get(checkpoint_id)
    return (
        entry is not None
        and entry.checkpoint_hash == checkpoint_hash
        and entry.through_id == data.get("through_id")
        and entry.through_hash == data.get("through_hash")
    )


def _start(first: dict[str, Any], ledger: dict[int, AuditPurge]) -> tuple[int | None, str, str]:
    """For a log that does not start at genesis: (checkpoint id, problem, detail)."""
    # id >= first: when every older record was removed, the first record left is the checkpoint itself.
    candidates = AuditEvent.objects.filter(
        event=events.AUDIT_PURGE, id__gte=first["id"], data__through_hash=first["prev_hash"]
    ).values_list("id", "hash", "data")
    forged: list[tuple[int, dict[str, Any]]] = []
    for checkpoint_id, checkpoint_hash, data in candidates:
        if not (isinstance(data.get("through_id"), int) and data["through_id"] < first["id"]):
            continue
        if _authentic(checkpoint_id, checkpoint_hash, data, ledger):
            return int(checkpoint_id), "", ""
        forged.append((int(checkpoint_id), data))
    if forged:
        checkpoint_id, data = forged[0]
        earlier = [p.through_id for p in ledger.values() if p.through_id < data["through_id"]]
        if earlier:  # the last authentic purge says where the log started
            text, _ids = _missing(max(earlier) + 1, data["through_id"] + 1)
        else:
            text = (
                f"every record up to id {data['through_id']} is gone (the forged checkpoint claims {data.get('count')})"
            )
        return None, FORGED_START, f"forged checkpoint: record {checkpoint_id}; {text}"
    return None, REMOVED_AT_START, ""


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
    ledger = _ledger()
    for row, following in _with_next(_rows(batch_size)):
        if previous is None and row["prev_hash"] != GENESIS_HASH:
            if following is not None and following["prev_hash"] == GENESIS_HASH:
                return ChainReport(checked, row["id"], INSERTED)
            checkpoint_id, problem, detail = _start(row, ledger)
            if checkpoint_id is None:
                return ChainReport(checked, row["id"], problem, detail=detail)
            expected = row["prev_hash"]
        report = _check(row, following, previous, expected, checked, checkpoint_id, ledger)
        if report is not None:
            return report
        expected = row["hash"]
        previous = row
        checked += 1
    head = (previous["id"], previous["hash"]) if previous else (None, "")
    return ChainReport(checked, head_id=head[0], head_hash=head[1], checkpoint_id=checkpoint_id)


def _check(
    row: dict[str, Any],
    following: dict[str, Any] | None,
    previous: dict[str, Any] | None,
    expected: str,
    checked: int,
    checkpoint_id: int | None,
    ledger: dict[int, AuditPurge],
) -> ChainReport | None:
    def bad(problem: str, detail: str = "", missing: tuple[int, ...] = ()) -> ChainReport:
        return ChainReport(checked, row["id"], problem, checkpoint_id=checkpoint_id, detail=detail, missing_ids=missing)

    if row["prev_hash"] != expected:
        if following is not None and following["prev_hash"] == expected:
            if row["prev_hash"] == following["hash"]:
                return bad(SWAPPED, f"record {following['id']} belongs before it")
            return bad(INSERTED)
        if previous is not None and row["prev_hash"] == previous["prev_hash"]:
            return ChainReport(checked - 1, previous["id"], INSERTED_TWIN, checkpoint_id=checkpoint_id)
        if previous is None:
            return bad(REMOVED_AT_START)
        text, ids = _missing(previous["id"] + 1, row["id"])
        if not ids:
            return bad(REWRITTEN_BEFORE, f"record {previous['id']} is not the one it followed")
        return bad(REMOVED_BEFORE, f"between record {previous['id']} and record {row['id']}, {text}", missing=ids)
    if compute_hash(row) != row["hash"]:
        if row["event"] == events.AUDIT_PURGE:
            return bad(INAUTHENTIC_CHECKPOINT, f"it claims records up to {row['data'].get('through_id')} were purged")
        return bad(WITHOUT_KEY if unkeyed_hash(row) == row["hash"] else ALTERED)
    if row["indexed"] != row["municipalities"].split():
        return bad(INDEX_MISMATCH)
    if row["event"] == events.AUDIT_PURGE and not _authentic(row["id"], row["hash"], row["data"], ledger):
        return bad(FORGED_CHECKPOINT, f"it claims records up to {row['data'].get('through_id')} were purged")
    return None


def head_matches(record_id: int, record_hash: str) -> bool:
    """Whether the record noted earlier as the head is still in the log, unchanged."""
    return AuditEvent.objects.filter(id=record_id, hash=record_hash).exists()
