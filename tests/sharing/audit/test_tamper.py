"""Tampering as a database superuser would, and what `verify_audit` says about each case.

Every case ends in the command's own words; they are also appended to
test-artifacts/verify_audit-tamper.txt for review. The tail cut is found through the anchors
alone (the chain itself is intact).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from sharing.audit import events
from sharing.audit.actions import compute_hash, purge_expired, record_event, unkeyed_hash
from sharing.audit.models import AuditEvent
from sharing.audit.verify import verify_chain
from sharing.core.actor import Actor
from tests.conftest import ARTIFACTS
from tests.dbroles import as_owner

from .helpers import bypass_triggers, clock, insert_raw, remove, rewrite_chain

pytestmark = pytest.mark.django_db(transaction=True)

ALICE = Actor(sub="alice", name="Alice Auditor", orgnr_parent="311111019")
REPORT = ARTIFACTS / "verify_audit-tamper.txt"


def _records(n: int = 5) -> list[AuditEvent]:
    return [
        record_event(event="test.event", outcome="success", by=ALICE, data={"n": i}, municipalities=["311111019"])
        for i in range(n)
    ]


def _anchor(path: Path) -> None:
    call_command("audit_anchor", file=path)


def _verify(case: str, anchors: Path | None = None) -> str:
    """verify_audit's verdict: its error, or its success line."""
    try:
        out = _capture(anchors)
    except CommandError as exc:
        said = str(exc)
    else:
        said = out
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a") as report:
        report.write(f"## {case}\n{said.strip()}\n\n")
    return said


def _capture(anchors: Path | None) -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out, **({"anchors": anchors} if anchors else {}))
    return out.getvalue()


def test_a_changed_record_is_named():
    r = _records()
    bypass_triggers("UPDATE audit_auditevent SET reason = 'innocent' WHERE id = %s", [r[2].pk])
    said = _verify("change a record")
    assert said == (
        f"Audit record {r[2].pk}: content does not match its hash: the record was altered (2 verified before it)."
    )


def test_a_deleted_record_is_named_with_its_id():
    r = _records()
    remove(r[2].pk)
    said = _verify("delete a record")
    assert said == (
        f"Audit record {r[3].pk}: does not follow the record before it: records between them were removed; "
        f"between record {r[1].pk} and record {r[3].pk}, 1 record missing: id {r[2].pk} (2 verified before it)."
    )


def test_deleted_records_are_counted():
    r = _records(6)
    remove(r[1].pk, r[2].pk, r[3].pk)
    said = _verify("delete three records")
    assert f"between record {r[0].pk} and record {r[4].pk}, 3 records missing: ids {r[1].pk}–{r[3].pk}" in said


def test_an_inserted_record_is_named():
    _records(2)
    with pytest.raises(RuntimeError), transaction.atomic():  # a write that rolls back leaves an id unused
        record_event(event="test.event", outcome="success", by=ALICE)
        raise RuntimeError
    last = record_event(event="test.event", outcome="success", by=ALICE)
    gap = last.pk - 1
    insert_raw(pk=gap, prev_hash="f" * 64, reason="I was never here")
    said = _verify("insert a record")
    assert said == f"Audit record {gap}: was inserted: the chain runs past it (2 verified before it)."


def test_two_swapped_records_are_named():
    r = _records()
    a, b = r[2].pk, r[3].pk
    for table, column in (("audit_auditeventmunicipality", "event_id"), ("audit_auditevent", "id")):
        bypass_triggers(f"UPDATE {table} SET {column} = -1 WHERE {column} = %s", [a])  # noqa: S608
        bypass_triggers(f"UPDATE {table} SET {column} = %s WHERE {column} = %s", [a, b])  # noqa: S608
        bypass_triggers(f"UPDATE {table} SET {column} = %s WHERE {column} = -1", [b])  # noqa: S608
    said = _verify("swap two records")
    assert said == (
        f"Audit record {a}: is out of order: it and the record after it were swapped; "
        f"record {b} belongs before it (2 verified before it)."
    )


def test_a_tail_cut_is_found_through_the_anchors_alone(tmp_path):
    r = _records()
    anchors = tmp_path / "anchors.log"
    _anchor(anchors)
    remove(r[3].pk, r[4].pk)
    assert verify_chain().ok  # the chain alone cannot see a shorter log
    assert "Audit chain intact: 3 records verified from genesis." in _verify("cut the tail (chain only)")
    said = _verify("cut the tail (with --anchors)", anchors)
    assert said.startswith("Anchor line 1 (")
    assert said.endswith(
        f"head {r[4].pk}): the chain was cut short: it now ends at record {r[2].pk}, but record {r[4].pk} "
        f"(hash {r[4].hash[:16]}…) was there: ids {r[3].pk}–{r[4].pk} are gone."
    )


def test_a_chain_recomputed_without_the_key_is_named():
    r = _records()
    rewrite_chain(unkeyed_hash, change={r[2].pk: "innocent"})
    said = _verify("recompute the whole chain without the key")
    assert said == (
        f"Audit record {r[0].pk}: was hashed without the chain key (plain SHA-256): written, or the chain "
        "recomputed, by someone who does not hold AUDIT_CHAIN_KEY (0 verified before it)."
    )


def test_a_chain_recomputed_with_the_key_is_found_through_the_anchors(tmp_path):
    """Someone holding the key and superuser rights rewrites a record and rehashes everything after it."""
    r = _records()
    anchors = tmp_path / "anchors.log"
    _anchor(anchors)
    rewrite_chain(compute_hash, change={r[2].pk: "innocent"})
    assert verify_chain().ok
    said = _verify("recompute the whole chain with the key (with --anchors)", anchors)
    assert f"record {r[4].pk} was rewritten since: its hash is now " in said
    assert "(the chain was rewritten or forked from there on)" in said


def test_a_fork_after_an_anchor_is_named(tmp_path):
    r = _records()
    anchors = tmp_path / "anchors.log"
    _anchor(anchors)
    remove(r[3].pk, r[4].pk)
    later = _records(3)
    assert verify_chain().ok
    said = _verify("cut and continue (fork) (with --anchors)", anchors)
    assert said.endswith(
        f"the chain forked: record {r[4].pk} is gone, yet the log runs on to record {later[-1].pk}: it was cut "
        "at or before that record and continued with other records."
    )


def test_anchors_written_over_time_see_a_cut_between_them(tmp_path):
    r = _records()
    anchors = tmp_path / "anchors.log"
    _anchor(anchors)
    remove(r[4].pk)
    _anchor(anchors)  # the cut goes unnoticed by the timer, but the earlier line remembers
    said = _verify("cut between two anchors (with --anchors)", anchors)
    assert "the chain was cut short" in said
    assert "Anchor line 2" not in said or "saw an older head than line 1" in said


def test_a_forged_purge_checkpoint_is_named_with_the_records_it_hides():
    """Issue 14's attack done as a superuser: a checkpoint (hashed with the key) and the delete it claims."""
    r = _records()
    head = r[-1]
    data = {"through_id": r[2].pk, "through_hash": r[2].hash, "count": 3}
    forged = _insert_as_superuser(prev_hash=head.hash, data=data)
    remove(r[0].pk, r[1].pk, r[2].pk)
    said = _verify("forged purge checkpoint, records deleted")
    assert said == (
        f"Audit record {r[3].pk}: follows a record that is not in the log, and the purge checkpoint that claims "
        "to account for it is forged (the owner's purge function did not write it: no entry in the purge ledger): "
        f"records were removed; forged checkpoint: record {forged}; every record up to id {r[2].pk} is gone "
        "(the forged checkpoint claims 3) (0 verified before it)."
    )


def test_a_forged_purge_checkpoint_alone_is_named():
    r = _records()
    data = {"through_id": r[1].pk, "through_hash": r[1].hash, "count": 2}
    forged = _insert_as_superuser(prev_hash=r[-1].hash, data=data)
    said = _verify("forged purge checkpoint, nothing deleted yet")
    assert said == (
        f"Audit record {forged}: is a purge checkpoint the owner's purge function did not write (no matching entry "
        f"in the purge ledger): forged; it claims records up to {r[1].pk} were purged (5 verified before it)."
    )


def test_a_purge_checkpoint_and_ledger_row_written_without_the_key_are_named():
    """A superuser without the key fakes the whole purge: checkpoint, ledger row and delete."""
    r = _records()
    data = {"through_id": r[1].pk, "through_hash": r[1].hash, "count": 2}
    fake = _insert_as_superuser(prev_hash=r[-1].hash, data=data, hasher=unkeyed_hash)
    row = AuditEvent.objects.get(pk=fake)
    bypass_triggers(
        "INSERT INTO audit_auditpurge (checkpoint_id, checkpoint_hash, through_id, through_hash, count, cutoff, "
        "purged_at, purged_by) VALUES (%s, %s, %s, %s, 2, now(), now(), 'intruder')",
        [fake, row.hash, r[1].pk, r[1].hash],
    )
    remove(r[0].pk, r[1].pk)
    said = _verify("purge faked without the key (checkpoint, ledger row, delete)")
    assert said == (
        f"Audit record {fake}: is a purge checkpoint that is not authentic: its hash was not made with the chain key "
        "(altered, or written by someone who does not hold AUDIT_CHAIN_KEY); it claims records up to "
        f"{r[1].pk} were purged (3 verified before it)."
    )


def test_anchors_of_records_an_authentic_purge_removed_still_verify(tmp_path):
    now = timezone.now()
    with clock(now - dt.timedelta(days=6 * 365)):
        _records(2)
    anchors = tmp_path / "anchors.log"
    _anchor(anchors)
    _records(1)
    with as_owner():
        purge_expired(by=ALICE, now=now)
    _anchor(anchors)
    said = _verify("anchored records purged by the owner's purge (with --anchors)", anchors)
    assert "Audit chain intact: 2 records verified from purge checkpoint" in said
    assert "consistent with 2 anchors" in said


def test_an_anchor_line_not_made_with_the_key_is_named(tmp_path):
    r = _records()
    anchors = tmp_path / "anchors.log"
    _anchor(anchors)
    line = anchors.read_text()
    anchors.write_text(line.replace(r[-1].hash, r[-2].hash).replace(f'"id":{r[-1].pk}', f'"id":{r[-2].pk}'))
    said = _verify("an anchor line edited (with --anchors)", anchors)
    assert said == "Anchor line 1: not authentic: its HMAC was not made with the chain key."


def test_an_intact_log_verifies_against_its_anchors(tmp_path, capsys):
    _records(2)
    anchors = tmp_path / "anchors.log"
    _anchor(anchors)
    _records(2)
    _anchor(anchors)
    call_command("audit_anchor")  # standard output, for a log shipper
    printed = capsys.readouterr().out.strip()
    assert printed.startswith('{"id":') and '"mac":' in printed
    said = _verify("intact (with --anchors)", anchors)
    assert "Audit chain intact: 4 records verified from genesis; consistent with 2 anchors." in said
    assert len(anchors.read_text().splitlines()) == 2


def _insert_as_superuser(*, prev_hash: str, data: dict, hasher=compute_hash) -> int:
    """An audit.purge record slipped in past the triggers (as only a superuser could)."""
    with as_owner(), connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            return insert_raw(prev_hash=prev_hash, event=events.AUDIT_PURGE, data=data, hasher=hasher)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
