"""The runtime role: what the application's own login can do to the access log (nothing but append).

The suite runs as that role (tests/dbroles.py), so these statements are an intruder holding the
application's database credentials and its chain key. Each is refused and the log is unchanged.
"""

import io
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.sql import emit_post_migrate_signal
from django.db import DatabaseError, connection, transaction

from sharing.audit import dbroles, events
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent, AuditEventMunicipality
from sharing.audit.verify import verify_chain
from sharing.core.actor import Actor
from tests.conftest import ARTIFACTS, ROOT
from tests.dbroles import RUNTIME_ROLE, as_owner, owner_user

from .helpers import insert_raw

ALICE = Actor(sub="alice", name="Alice Auditor", orgnr_parent="311111019")


def _three() -> list[AuditEvent]:
    return [
        record_event(event="test.event", outcome="success", by=ALICE, data={"n": n}, municipalities=["311111019"])
        for n in range(3)
    ]


def _log() -> list[tuple[int, str, int]]:
    return [
        (pk, digest, AuditEventMunicipality.objects.filter(event_id=pk).count())
        for pk, digest in AuditEvent.objects.order_by("id").values_list("id", "hash")
    ]


@pytest.mark.django_db
def test_the_suite_runs_as_the_runtime_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, session_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (RUNTIME_ROLE, RUNTIME_ROLE, False)
    assert owner_user() != RUNTIME_ROLE


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("UPDATE audit_auditevent SET reason = 'changed'", "permission denied"),
        ("DELETE FROM audit_auditevent", "permission denied"),
        ("TRUNCATE audit_auditevent CASCADE", "permission denied"),
        ("TRUNCATE audit_auditeventmunicipality", "permission denied"),
        ("UPDATE audit_auditeventmunicipality SET municipality = '315555019'", "permission denied"),
        ("DELETE FROM audit_auditeventmunicipality", "permission denied"),
        ("ALTER TABLE audit_auditevent DISABLE TRIGGER USER", "must be owner"),
        ("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_no_delete", "must be owner"),
        ("ALTER TABLE audit_auditevent DISABLE TRIGGER ALL", "must be owner"),
        ("DROP TRIGGER audit_no_delete ON audit_auditevent", "must be owner"),
        (
            "CREATE TRIGGER audit_let_go BEFORE DELETE ON audit_auditevent FOR EACH ROW "
            "EXECUTE FUNCTION audit_refuse_change()",
            "permission denied",
        ),
        ("SET ROLE postgres", "permission denied to set role"),
        ("DROP TABLE audit_auditevent CASCADE", "must be owner"),
        ("SET session_replication_role = replica", "permission denied"),
        ("CREATE TABLE audit_shadow (id int)", "permission denied for schema"),
        ("SELECT audit_purge('{}'::jsonb)", "permission denied for function audit_purge"),
        ("DELETE FROM audit_auditpurge", "permission denied"),
        (
            "INSERT INTO audit_auditpurge (checkpoint_id, checkpoint_hash, through_id, through_hash, count, cutoff, "
            "purged_at, purged_by) VALUES (999, 'x', 999, 'x', 1, now(), now(), 'me')",
            "permission denied",
        ),
    ],
)
def test_the_runtime_role_cannot_change_the_log(statement, refusal):
    _three()
    before = _log()
    with pytest.raises(DatabaseError, match=refusal), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert _log() == before
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_forged_purge_checkpoint_and_a_delete_are_both_refused():
    """The attack of issue 14: a checkpoint linked to the head (hashed with the key the application
    holds), then DELETE of everything it claims to cover. The checkpoint is refused, and so is the
    DELETE whatever the log holds."""
    records = _three()
    before = _log()
    head = records[-1]
    claim = {"through_id": records[1].pk, "through_hash": records[1].hash, "count": 2}
    with pytest.raises(DatabaseError, match="written only by the owner's audit_purge"), transaction.atomic():
        insert_raw(prev_hash=head.hash, event=events.AUDIT_PURGE, data=claim)
    with transaction.atomic(), connection.cursor() as cursor:  # the "transaction-local" switch, set by hand
        cursor.execute("SELECT set_config('maaledata.audit_purge_through', %s, true)", [str(records[1].pk)])
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            cursor.execute("DELETE FROM audit_auditevent WHERE id <= %s", [records[1].pk])
    assert _log() == before
    assert verify_chain().ok


# --- the grants themselves --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_runtime_role_has_exactly_what_the_code_needs():
    """Fails if any table leaves the runtime role without what it needs, or with more than
    SELECT, INSERT on an audit table (every model's table is checked, audit tables by app)."""
    with as_owner():
        problems, checked = dbroles.check(connection, RUNTIME_ROLE)
        out = io.StringIO()
        call_command("grant_app_role", RUNTIME_ROLE, check=True, stdout=out)
    ARTIFACTS.mkdir(exist_ok=True)  # .ci/run prints it
    (ARTIFACTS / "grant_app_role-check.txt").write_text(
        f"$ manage.py grant_app_role {RUNTIME_ROLE} --check\n{out.getvalue()}"
    )
    assert problems == []
    assert checked >= len(dbroles.wanted_table_privileges())
    assert "every privilege is what the code needs" in out.getvalue()
    wanted = dbroles.wanted_table_privileges()
    assert wanted["audit_auditevent"] == wanted["audit_auditeventmunicipality"] == ("SELECT", "INSERT")
    assert wanted["audit_auditpurge"] == ("SELECT",)


@pytest.mark.django_db(transaction=True)
def test_every_table_is_classified():
    """A table a migration creates without a model (RunSQL) must be given its privileges too."""
    with as_owner():
        tables = set(dbroles._tables(connection))
    assert tables - set(dbroles.wanted_table_privileges()) == {"test_audit_unavailable"}  # the tests' switch


@pytest.mark.django_db(transaction=True)
def test_check_reports_every_privilege_too_wide_or_missing_and_grant_repairs_them():
    with as_owner():
        with connection.cursor() as cursor:
            cursor.execute(f'GRANT UPDATE, TRUNCATE ON audit_auditevent TO "{RUNTIME_ROLE}"')
            cursor.execute(f'REVOKE DELETE ON agreements_agreement FROM "{RUNTIME_ROLE}"')
            cursor.execute(f'GRANT EXECUTE ON FUNCTION audit_purge(jsonb) TO "{RUNTIME_ROLE}"')
            cursor.execute(f'GRANT CREATE ON SCHEMA public TO "{RUNTIME_ROLE}"')
        out = io.StringIO()
        try:
            with pytest.raises(CommandError, match="4 privileges of maaledata_app are too wide or missing"):
                call_command("grant_app_role", RUNTIME_ROLE, check=True, stdout=out)
        finally:
            call_command("grant_app_role", RUNTIME_ROLE, stdout=io.StringIO())
        assert dbroles.check(connection, RUNTIME_ROLE)[0] == []
    assert out.getvalue().splitlines() == [
        "schema: too wide: CREATE",
        "function audit_purge(jsonb): too wide: EXECUTE",
        "table agreements_agreement: missing DELETE",
        "table audit_auditevent: too wide: UPDATE, TRUNCATE",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_table_a_new_migration_creates_is_usable_at_once_and_migrate_regrants():
    """Default privileges give a new table what ordinary tables get; the post_migrate re-grant puts
    any privilege a migration widened back to what the code needs."""
    with as_owner(), connection.cursor() as cursor:
        cursor.execute("CREATE TABLE test_new_feature (id bigint GENERATED BY DEFAULT AS IDENTITY, note text)")
        cursor.execute(f'GRANT UPDATE ON audit_auditevent TO "{RUNTIME_ROLE}"')  # a careless migration
        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    try:
        with connection.cursor() as cursor:  # as the runtime role
            cursor.execute("INSERT INTO test_new_feature (note) VALUES ('x')")
            cursor.execute("UPDATE test_new_feature SET note = 'y'")
            cursor.execute("DELETE FROM test_new_feature")
        with as_owner():
            assert dbroles.check(connection, RUNTIME_ROLE)[0] == []
    finally:
        with as_owner(), connection.cursor() as cursor:
            cursor.execute("DROP TABLE test_new_feature")


def test_grant_app_role_on_sqlite_says_there_is_nothing_to_do(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "DJANGO_ENV": "development"}
    done = subprocess.run(
        [sys.executable, "manage.py", "grant_app_role", "maaledata_app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "has no roles: nothing to grant" in done.stdout


@pytest.mark.django_db(transaction=True)
def test_migrate_leaves_a_read_only_role_set_up_the_same_way_alone():
    """A DBA's reporting role with default SELECT is not mistaken for a runtime role by the re-grant."""
    with as_owner(), connection.cursor() as cursor:
        reporting = f"{connection.settings_dict['NAME']}_reporting"[:63]
        cursor.execute(f'CREATE ROLE "{reporting}" NOLOGIN')
        cursor.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "{reporting}"')
        try:
            emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
            cursor.execute("SELECT has_table_privilege(%s, 'audit_auditevent', 'SELECT')", [reporting])
            assert cursor.fetchone() == (False,)
            assert dbroles.remembered_roles(connection) == [RUNTIME_ROLE]
        finally:
            cursor.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM "{reporting}"')  # noqa: S608
            cursor.execute(f'DROP ROLE "{reporting}"')


@pytest.mark.django_db
def test_grant_app_role_refuses_to_run_as_the_runtime_role():
    """GRANT by a non-owner only warns in PostgreSQL: the command must not pretend it granted."""
    with pytest.raises(CommandError, match="grants as the owner of the tables"):
        call_command("grant_app_role", RUNTIME_ROLE, stdout=io.StringIO())
