"""The chain's head, anchored outside the database.

`audit_anchor` (from a timer) appends one line per run: the head's id and hash and the time,
authenticated with an HMAC under the chain key. The lines live where the database's users cannot
rewrite them (another machine, a log shipper, write-once storage). `verify_audit --anchors FILE`
then checks the database against every line: a record an anchor saw must still be there with the
same hash, or have been removed by an authentic retention purge. So a chain cut short, or
rewritten from some point on (even by someone holding the key), is found without anyone
remembering the head.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from .actions import GENESIS_HASH, chain_key
from .models import AuditEvent, AuditPurge
from .verify import id_ranges


@dataclass(frozen=True)
class Anchor:
    record_id: int | None  # None: the log was empty
    record_hash: str
    at: dt.datetime

    def _message(self) -> bytes:
        return f"maaledata-audit-anchor:{self.record_id or 0}:{self.record_hash}:{self.at.isoformat()}".encode()

    def mac(self) -> str:
        return hmac.new(chain_key(), self._message(), hashlib.sha256).hexdigest()

    def line(self) -> str:
        body = {"id": self.record_id, "hash": self.record_hash, "at": self.at.isoformat(), "mac": self.mac()}
        return json.dumps(body, separators=(",", ":"))


def current_head(now: dt.datetime | None = None) -> Anchor:
    head = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
    at = (now or timezone.now()).astimezone(dt.UTC)
    return Anchor(head[0], head[1], at) if head else Anchor(None, GENESIS_HASH, at)


def parse(line: str) -> Anchor:
    """One line back into an Anchor; ValueError if it is unreadable or not made with the chain key."""
    try:
        body = json.loads(line)
        anchor = Anchor(body["id"], str(body["hash"]), dt.datetime.fromisoformat(body["at"]))
        mac = str(body["mac"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("unreadable") from exc
    if anchor.record_id is not None and not isinstance(anchor.record_id, int):
        raise ValueError("unreadable")
    if not hmac.compare_digest(mac, anchor.mac()):
        raise ValueError("not authentic: its HMAC was not made with the chain key")
    return anchor


def check_anchors(lines: Iterable[str]) -> tuple[int, list[str]]:
    """Check the database against every anchor line: (anchors checked, problems, one line each)."""
    head = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    purges = list(AuditPurge.objects.values_list("through_id", "through_hash", "checkpoint_id"))
    problems: list[str] = []
    checked = 0
    highest: tuple[int, str] | None = None  # the newest head an earlier line saw
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            anchor = parse(raw)
        except ValueError as exc:
            problems.append(f"Anchor line {number}: {exc}.")
            continue
        checked += 1
        where = f"Anchor line {number} ({anchor.at:%Y-%m-%d %H:%M:%S} UTC, head {anchor.record_id})"
        if highest and (anchor.record_id or 0) < int(highest[0]):
            problems.append(
                f"{where}: saw an older head than line {highest[1]} did ({highest[0]}): the chain was cut short "
                "between those two anchors."
            )
        if anchor.record_id is not None and (highest is None or anchor.record_id >= highest[0]):
            highest = (anchor.record_id, str(number))
        problem = _against_database(anchor, head, purges)
        if problem:
            problems.append(f"{where}: {problem}")
    return checked, problems


def _against_database(anchor: Anchor, head: int | None, purges: list[tuple[int, str, int]]) -> str:
    if anchor.record_id is None:
        return ""
    stored = AuditEvent.objects.filter(id=anchor.record_id).values_list("hash", flat=True).first()
    if stored == anchor.record_hash:
        return ""
    if stored is not None:
        return (
            f"record {anchor.record_id} was rewritten since: its hash is now {stored[:16]}…, the anchor saw "
            f"{anchor.record_hash[:16]}… (the chain was rewritten or forked from there on)."
        )
    for through_id, through_hash, _checkpoint in purges:
        if through_id >= anchor.record_id and (through_id != anchor.record_id or through_hash == anchor.record_hash):
            return ""  # removed by an authentic retention purge
    if head is None or head < anchor.record_id:
        ids = range((head or 0) + 1, anchor.record_id + 1)
        gone = f"ids {id_ranges(ids)} are" if len(ids) > 1 else f"id {anchor.record_id} is"
        return (
            f"the chain was cut short: it now ends at record {head or 'none'}, but record {anchor.record_id} "
            f"(hash {anchor.record_hash[:16]}…) was there: {gone} gone."
        )
    return (
        f"the chain forked: record {anchor.record_id} is gone, yet the log runs on to record {head}: it was cut "
        "at or before that record and continued with other records."
    )
