"""The chain: append-only in the database, and every alteration, removal or insertion is found.

Transactional: the tampering is done as the owner (a superuser here) over its own login, which
sees only what the runtime role committed.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction

from sharing.audit.actions import GENESIS_HASH, compute_hash, record_event, unkeyed_hash
from sharing.audit.models import AuditEvent, AuditEventMunicipality
from sharing.audit.verify import (
    ALTERED,
    INDEX_MISMATCH,
    INSERTED,
    REMOVED_AT_START,
    REMOVED_BEFORE,
    REWRITTEN_BEFORE,
    WITHOUT_KEY,
    verify_chain,
)
from sharing.core.actor import Actor
from tests.dbroles import as_owner

from .helpers import bypass_triggers, insert_raw

ALICE = Actor(sub="alice", name="Alice Auditor", orgnr_parent="311111019")
OSLO = "311111019"

pytestmark = pytest.mark.django_db(transaction=True)


def _three() -> list[AuditEvent]:
    return [
        record_event(event="test.event", outcome="success", by=ALICE, data={"n": n}, municipalities=[OSLO])
        for n in range(3)
    ]


def test_records_are_chained_from_genesis():
    first, second, third = _three()
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    report = verify_chain()
    assert report.ok and report.checked == 3
    assert (report.head_id, report.head_hash) == (third.pk, third.hash)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET reason = 'changed'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent CASCADE",
        "TRUNCATE audit_auditeventmunicipality",
        "UPDATE audit_auditeventmunicipality SET municipality = '315555019'",
        "DELETE FROM audit_auditeventmunicipality",
    ],
)
def test_database_refuses_changes_even_to_the_owner(statement):
    """The triggers stand behind the privileges: even the owner (a superuser here) is refused.

    The runtime role does not get as far: test_roles.py."""
    _three()
    with (
        as_owner(),
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AuditEvent.objects.count() == 3
    assert AuditEventMunicipality.objects.count() == 3


def test_python_refuses_changes():
    event = _three()[0]
    event.reason = "changed"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.update(reason="x")
    with pytest.raises(TypeError):
        AuditEventMunicipality.objects.first().delete()


def test_two_records_cannot_follow_the_same_one():
    """A fork is refused by the database, whatever a writer did with the lock."""
    first, second, _third = _three()
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_raw(prev_hash=first.hash, reason="a second successor of the first record")


def test_verify_finds_an_altered_record():
    second = _three()[1]
    bypass_triggers("UPDATE audit_auditevent SET reason = 'innocent' WHERE id = %s", [second.pk])
    report = verify_chain()
    assert (report.first_bad_id, report.problem, report.checked) == (second.pk, ALTERED, 1)
    with pytest.raises(CommandError, match=f"Audit record {second.pk}"):
        call_command("verify_audit")


def test_verify_finds_an_altered_record_whose_hash_was_recomputed():
    """Even with the chain key an intruder who rehashes one record leaves its successor not following it."""
    first, second, third = _three()
    row = AuditEvent.objects.filter(pk=second.pk).values().get()
    row["reason"] = "innocent"
    bypass_triggers(
        "UPDATE audit_auditevent SET reason = %s, hash = %s WHERE id = %s",
        [row["reason"], compute_hash(row), second.pk],
    )
    report = verify_chain()
    assert (report.first_bad_id, report.problem) == (third.pk, REWRITTEN_BEFORE)


def test_verify_finds_a_removed_record_and_names_its_id():
    first, second, third = _three()
    bypass_triggers("DELETE FROM audit_auditeventmunicipality WHERE event_id = %s", [second.pk])
    bypass_triggers("DELETE FROM audit_auditevent WHERE id = %s", [second.pk])
    report = verify_chain()
    assert (report.first_bad_id, report.problem, report.missing_ids) == (third.pk, REMOVED_BEFORE, (second.pk,))
    assert f"1 record missing: id {second.pk}" in report.describe()


def test_verify_finds_the_first_record_removed():
    first, second, _third = _three()
    bypass_triggers("DELETE FROM audit_auditeventmunicipality WHERE event_id = %s", [first.pk])
    bypass_triggers("DELETE FROM audit_auditevent WHERE id = %s", [first.pk])
    report = verify_chain()
    assert (report.first_bad_id, report.problem) == (second.pk, REMOVED_AT_START)


def test_verify_finds_a_record_inserted_with_sql():
    """A row slipped in between two records (into an id gap a rolled-back write left) is named."""
    first, second, _third = _three()
    with pytest.raises(RuntimeError), transaction.atomic():  # a write that rolls back leaves an id unused
        record_event(event="test.event", outcome="success", by=ALICE)
        raise RuntimeError
    fourth = record_event(event="test.event", outcome="success", by=ALICE)
    gap = fourth.pk - 1
    inserted = insert_raw(pk=gap, prev_hash="f" * 64, reason="I was never here")
    assert inserted == gap
    report = verify_chain()
    assert (report.first_bad_id, report.problem) == (gap, INSERTED)
    with pytest.raises(CommandError, match=f"Audit record {gap}: was inserted"):
        call_command("verify_audit")


def test_verify_finds_a_record_inserted_before_the_first():
    first, *_rest = _three()
    insert_raw(pk=0, prev_hash="e" * 64)
    report = verify_chain()
    assert (report.first_bad_id, report.problem) == (0, INSERTED)


def test_a_record_appended_without_the_chain_key_is_found():
    """Appended at the end with a plain SHA-256, linked correctly: only the key tells it apart."""
    *_, third = _three()
    assert verify_chain().ok
    forged = insert_raw(prev_hash=third.hash, reason="forged", hasher=unkeyed_hash)
    report = verify_chain()
    assert (report.first_bad_id, report.problem) == (forged, WITHOUT_KEY)


def test_a_record_appended_with_another_key_is_found(settings):
    *_, third = _three()
    key = settings.AUDIT_CHAIN_KEY
    settings.AUDIT_CHAIN_KEY = "an-intruder-guesses-a-key-" + "x" * 32
    forged = insert_raw(prev_hash=third.hash, reason="forged")
    settings.AUDIT_CHAIN_KEY = key
    report = verify_chain()
    assert (report.first_bad_id, report.problem) == (forged, ALTERED)


def test_the_chain_key_is_never_empty(settings):
    assert len(settings.AUDIT_CHAIN_KEY.encode()) >= 32
    settings.AUDIT_CHAIN_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        record_event(event="test.event", outcome="success", by=ALICE)


def test_verify_finds_an_altered_municipality_index():
    """Moving an event out of a municipality's view (so its auditor misses it) is found too."""
    second = _three()[1]
    bypass_triggers(
        "UPDATE audit_auditeventmunicipality SET municipality = '315555019' WHERE event_id = %s", [second.pk]
    )
    report = verify_chain()
    assert (report.first_bad_id, report.problem) == (second.pk, INDEX_MISMATCH)


def test_verify_command_reports_an_intact_chain_and_its_head(capsys):
    *_, third = _three()
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "3 records verified from genesis" in out
    assert f"Head: {third.pk}:{third.hash}" in out
    call_command("verify_audit", expect=f"{third.pk}:{third.hash}")


def test_verify_command_finds_records_cut_off_the_end_against_a_noted_head():
    *_, third = _three()
    bypass_triggers("DELETE FROM audit_auditeventmunicipality WHERE event_id = %s", [third.pk])
    bypass_triggers("DELETE FROM audit_auditevent WHERE id = %s", [third.pk])
    assert verify_chain().ok  # the chain alone cannot see a shorter log
    with pytest.raises(CommandError, match=f"Audit record {third.pk} noted earlier is missing"):
        call_command("verify_audit", expect=f"{third.pk}:{third.hash}")


def test_over_long_values_are_cut_to_fit_rather_than_lose_the_record():
    """A caller-controlled value (an X-Request-Id header, say) must not make the write fail."""
    actor = Actor(name="A" * 500, request_id="r" * 500, orgnr_parent="311111019")
    event = record_event(event="test.event", outcome="success", by=actor, patient_value="1" * 40)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (len(stored.actor_name), len(stored.request_id), len(stored.patient_value)) == (200, 64, 32)
    assert verify_chain().ok
