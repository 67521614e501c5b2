"""Walk the audit chain and report the first record that does not fit."""

from __future__ import annotations

from dataclasses import dataclass

from .actions import CHAINED_FIELDS, GENESIS_HASH, compute_hash
from .models import AuditEvent


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify_chain(batch_size: int = 5000) -> ChainReport:
    expected_prev = GENESIS_HASH
    checked = 0
    rows = AuditEvent.objects.order_by("id").values("id", "hash", *CHAINED_FIELDS)
    for row in rows.iterator(chunk_size=batch_size):
        if row["prev_hash"] != expected_prev:
            return ChainReport(
                checked, row["id"], "does not follow the record before it (a record was removed or inserted)"
            )
        if compute_hash(row) != row["hash"]:
            return ChainReport(checked, row["id"], "content does not match its hash (the record was altered)")
        expected_prev = row["hash"]
        checked += 1
    return ChainReport(checked)
