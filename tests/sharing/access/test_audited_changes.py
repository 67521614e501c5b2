"""The database refuses a change to who may see what unless the same transaction wrote its audit
record (sharing/access/migrations/0005_audited_changes.py): tried as the running application's
role, as someone holding its credentials would, with raw SQL past every `actions.py`."""

from __future__ import annotations

import importlib

import pytest
from django.db import IntegrityError, connection, transaction

from devdata import demo
from sharing.agreements.models import Agreement
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor

pytestmark = pytest.mark.django_db(transaction=True)

GUARDED = importlib.import_module("sharing.access.migrations.0005_audited_changes").GUARDED
INTRUDER = Actor(name="intruder", client_id="app-credentials")


def _purpose(pk: int) -> str:
    return Agreement.objects.values_list("purpose", flat=True).get(pk=pk)


@pytest.fixture
def agreement(oslo) -> Agreement:
    return Agreement.objects.get(controller__orgnr=demo.OSLO, consumer__orgnr=demo.SAGENE_GP)


def test_a_silent_change_is_refused_at_commit_and_nothing_changes(agreement):
    before = _purpose(agreement.pk)
    with pytest.raises(IntegrityError, match="needs its audit record in the same transaction"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE agreements_agreement SET lookback_days = NULL, purpose = 'x' WHERE id = %s", [agreement.pk]
            )
    assert _purpose(agreement.pk) == before
    grant = (
        "INSERT INTO access_rolegrant (role, pid, name, granted_at, granted_by, granted_by_pid, revoked_by, "
        "revoked_by_pid) VALUES ('system_admin', '03847733283', 'Inntrenger', now(), 'x', '', '', '')"
    )
    with pytest.raises(IntegrityError, match="access_rolegrant needs its audit record"):
        with connection.cursor() as cursor:  # autocommit: the statement is its own transaction
            cursor.execute(grant)
    assert not AuditEvent.objects.filter(actor_name="Inntrenger").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM access_rolegrant WHERE name = 'Inntrenger'")
        assert cursor.fetchone() == (0,)


def test_a_change_with_its_record_commits_even_from_a_savepoint(agreement):
    records = AuditEvent.objects.count()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE agreements_agreement SET purpose = 'endret' WHERE id = %s", [agreement.pk])
        with transaction.atomic():  # a savepoint: the record still counts for the transaction
            record_event(event="agreement.amend", outcome="success", by=INTRUDER, data={"id": agreement.pk})
    assert _purpose(agreement.pk) == "endret"
    assert AuditEvent.objects.count() == records + 1


def test_every_table_that_decides_access_is_guarded():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = c.relname || '_audited' AND t.tgdeferrable AND t.tginitdeferred"
        )
        guarded = {row[0] for row in cursor.fetchall()}
    assert guarded == set(GUARDED)
    assert {"agreements_agreement", "access_rolegrant", "access_membership", "measurements_identitylink"} <= guarded
