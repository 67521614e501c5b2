"""Retention: records past the period are removed, the removal is itself recorded, the chain verifies.

The purge is the owner's (the database function audit_purge()); the runtime role, which the suite
runs as, is refused. Transactional: `as_owner` logs in anew and sees only committed rows.
"""

import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from sharing.audit import events
from sharing.audit.actions import PurgeRefused, purge_expired, record_event, retention_cutoff
from sharing.audit.models import AuditEvent, AuditEventMunicipality, AuditPurge
from sharing.audit.verify import REMOVED_AT_START, verify_chain
from sharing.core.actor import Actor
from tests.dbroles import as_owner, owner_user

from .helpers import bypass_triggers, clock

pytestmark = pytest.mark.django_db(transaction=True)

OPERATOR = Actor(name="purge_audit", client_id="purge_audit")
NOW = dt.datetime(2031, 6, 15, 12, 0, tzinfo=ZoneInfo("Europe/Oslo"))


def _write(at: dt.datetime, n: int = 1) -> list[AuditEvent]:
    with clock(at):
        return [
            record_event(event="patient.lookup", outcome="granted", by=OPERATOR, municipalities=["311111019"])
            for _ in range(n)
        ]


def _purge(now: dt.datetime):
    with clock(now), as_owner():
        return purge_expired(by=OPERATOR, now=now)


def _history() -> tuple[list[AuditEvent], list[AuditEvent]]:
    old = _write(NOW - dt.timedelta(days=6 * 365), 3) + _write(NOW - dt.timedelta(days=5 * 365 + 2), 2)
    kept = _write(NOW - dt.timedelta(days=4 * 365), 2) + _write(NOW - dt.timedelta(days=1), 2)
    return old, kept


def test_default_retention_is_five_years():
    assert retention_cutoff(NOW) == timezone.localtime(NOW).replace(year=2026)


def test_purge_removes_expired_records_and_leaves_a_verifiable_chain():
    old, kept = _history()
    result = _purge(NOW)
    assert result.removed == 5
    assert set(AuditEvent.objects.values_list("pk", flat=True)) == {r.pk for r in kept} | {result.checkpoint.pk}
    assert not AuditEventMunicipality.objects.filter(event_id__in=[r.pk for r in old]).exists()
    checkpoint = result.checkpoint
    assert checkpoint.event == events.AUDIT_PURGE
    assert checkpoint.data["through_id"] == old[-1].pk
    assert checkpoint.data["through_hash"] == old[-1].hash
    assert checkpoint.data["count"] == 5
    report = verify_chain()
    assert report.ok and report.checkpoint_id == checkpoint.pk
    assert report.checked == len(kept) + 1
    ledger = AuditPurge.objects.get()
    assert (ledger.checkpoint_id, ledger.through_id, ledger.count) == (checkpoint.pk, old[-1].pk, 5)
    assert ledger.purged_by == owner_user()  # the login that ran the purge, never the runtime role


def test_a_second_purge_later_keeps_the_chain_verifiable():
    _old, kept = _history()
    _purge(NOW)
    later = NOW + dt.timedelta(days=2 * 365)
    second = _purge(later)
    assert second.removed == 2  # the two records from four years before NOW
    assert verify_chain().ok


def test_when_every_record_has_expired_the_checkpoint_starts_the_chain():
    old, _kept = _history()
    later = NOW + dt.timedelta(days=10 * 365)
    result = _purge(later)
    assert result.removed == 9
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [result.checkpoint.pk]
    report = verify_chain()
    assert report.ok and report.checkpoint_id == result.checkpoint.pk


def test_nothing_to_purge_writes_nothing():
    _write(NOW - dt.timedelta(days=10), 2)
    result = _purge(NOW)
    assert (result.removed, result.checkpoint) == (0, None)
    assert AuditEvent.objects.count() == 2


def test_retention_setting_is_respected(settings):
    settings.AUDIT_RETENTION_YEARS = 1
    _write(NOW - dt.timedelta(days=400), 1)
    kept = _write(NOW - dt.timedelta(days=300), 1)
    result = _purge(NOW)
    assert result.removed == 1
    assert AuditEvent.objects.filter(pk=kept[0].pk).exists()


def test_the_runtime_role_cannot_purge():
    """The application's own login may not run the purge function: refused, nothing removed."""
    old, kept = _history()
    with clock(NOW), pytest.raises(PurgeRefused, match="permission denied for function audit_purge"):
        purge_expired(by=OPERATOR, now=NOW)
    assert AuditEvent.objects.count() == len(old) + len(kept)
    assert verify_chain().ok


def test_the_runtime_role_is_refused_even_with_nothing_to_purge():
    """So a scheduler set up with the wrong login fails on its first run, not five years later."""
    _write(NOW - dt.timedelta(days=10), 1)
    with clock(NOW), pytest.raises(PurgeRefused, match="role maaledata_app may not purge"):
        purge_expired(by=OPERATOR, now=NOW)


def test_the_database_refuses_to_delete_outside_the_purge_function_even_to_the_owner():
    _old, kept = _history()
    _purge(NOW)
    with (
        as_owner(),
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [kept[0].pk])
    assert AuditEvent.objects.filter(pk=kept[0].pk).exists()


def test_the_purge_function_refuses_a_checkpoint_that_misstates_what_it_removes():
    """The owner's function checks the checkpoint it is handed against what the cutoff removes."""
    old, kept = _history()
    with clock(NOW), as_owner(), mock.patch("sharing.audit.actions.Min", side_effect=lambda _f: Max("id")):
        with pytest.raises(DatabaseError, match="does not describe what the cutoff removes"):
            purge_expired(by=OPERATOR, now=NOW)
    assert AuditEvent.objects.count() == len(old) + len(kept)


def test_verify_finds_records_removed_beyond_the_checkpoint():
    _old, kept = _history()
    _purge(NOW)
    bypass_triggers("DELETE FROM audit_auditeventmunicipality WHERE event_id = %s", [kept[0].pk])
    bypass_triggers("DELETE FROM audit_auditevent WHERE id = %s", [kept[0].pk])
    report = verify_chain()
    assert (report.first_bad_id, report.problem) == (kept[1].pk, REMOVED_AT_START)


def test_purge_command_reports_what_it_did(capsys):
    _write(timezone.now() - dt.timedelta(days=6 * 365), 2)
    _write(timezone.now() - dt.timedelta(days=1), 1)
    with pytest.raises(CommandError, match="run purge_audit as the owner role"):
        call_command("purge_audit")  # as the runtime role
    with as_owner():
        call_command("purge_audit")
    out = capsys.readouterr().out
    assert "Removed 2 records" in out
    call_command("verify_audit")
    with as_owner():
        call_command("purge_audit")
    assert "Nothing to remove" in capsys.readouterr().out
