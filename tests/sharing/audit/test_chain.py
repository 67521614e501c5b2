import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from sharing.access.actor import Actor
from sharing.audit.actions import GENESIS_HASH, record_event
from sharing.audit.models import AuditEvent
from sharing.audit.verify import verify_chain

ALICE = Actor(sub="alice", name="Alice Auditor", orgnr_parent="311111019")


def _three() -> list[AuditEvent]:
    return [record_event(event="test.event", outcome="success", by=ALICE, data={"n": n}) for n in range(3)]


@pytest.mark.django_db
def test_records_are_chained_from_genesis():
    first, second, third = _three()
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    report = verify_chain()
    assert report.ok and report.checked == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET reason = 'changed'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_database_refuses_changes(statement):
    _three()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.count() == 3


@pytest.mark.django_db
def test_python_refuses_changes():
    event = _three()[0]
    event.reason = "changed"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()


def _bypass_triggers(sql: str, params: list[object]) -> None:
    """What an intruder with superuser rights could do; the chain must still tell."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = DEFAULT")


@pytest.mark.django_db
def test_verify_finds_an_altered_record():
    second = _three()[1]
    _bypass_triggers("UPDATE audit_auditevent SET reason = 'innocent' WHERE id = %s", [second.pk])
    report = verify_chain()
    assert report.first_bad_id == second.pk
    assert "altered" in report.problem
    with pytest.raises(CommandError, match=f"Audit record {second.pk}"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_finds_a_removed_record():
    first, second, third = _three()
    _bypass_triggers("DELETE FROM audit_auditevent WHERE id = %s", [second.pk])
    report = verify_chain()
    assert report.first_bad_id == third.pk
    assert "removed or inserted" in report.problem


@pytest.mark.django_db
def test_verify_command_reports_an_intact_chain(capsys):
    _three()
    call_command("verify_audit")
    assert "3 records verified" in capsys.readouterr().out
