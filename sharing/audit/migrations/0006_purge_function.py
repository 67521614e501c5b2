"""Purge only through the owner's database function; the log trusts no row the runtime role could write.

PostgreSQL:
- `audit_purge(checkpoint jsonb)`: SECURITY DEFINER, owned by the role that runs `migrate` (the
  owner), with a pinned search_path; EXECUTE is revoked from PUBLIC, so the runtime role cannot
  call it. Under the chain's lock it checks that the checkpoint record it is given describes
  exactly what is past the cutoff (through id and hash, count) and follows the current head,
  inserts it, writes a row in the purge ledger (`audit_auditpurge`), and deletes what it covers.
  The checkpoint's hash is an HMAC computed by `purge_expired` with the chain key, which the
  database never sees.
- The delete triggers let a row go only while that function runs: it sets a transaction-local
  setting and the trigger also requires `current_user` to be the function's owner (inside a
  SECURITY DEFINER function it is; the runtime role never is). A checkpoint row proves nothing.
- Inserting an `audit.purge` record, or a ledger row, outside the function is refused too.
SQLite (the `make run` demo, no roles): the ledger table, append-only; the checkpoint-covered
delete of migration 0004 stays.
"""

from typing import Any

from django.db import migrations, models

EVENTS = "audit_auditevent"
INDEX = "audit_auditeventmunicipality"
LEDGER = "audit_auditpurge"
CHAIN_LOCK_ID = 0x4155444954  # sharing.audit.actions._CHAIN_LOCK_ID, frozen here
EVENT_COLUMNS = (
    "occurred_at, event, outcome, actor_sub, actor_pid, actor_hpr, actor_name, actor_role, org_parent, "
    "org_parent_name, org_child, org_child_name, patient_system, patient_value, data, basis, reason, "
    "client_id, request_id, municipalities, prev_hash, hash"
)
REFUSED = "USING ERRCODE = 'insufficient_privilege'"


def _run_by_owner(schema: str) -> str:
    """SQL condition: the current role owns audit_purge() (inside that SECURITY DEFINER function it does)."""
    return (
        "(SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user) = "
        f"(SELECT proowner FROM pg_catalog.pg_proc WHERE oid = '{schema}.audit_purge(jsonb)'::regprocedure)"
    )


def postgres_up(schema: str) -> list[str]:
    path = f"SET search_path = pg_catalog, {schema}, pg_temp"
    return [
        f"""
CREATE FUNCTION audit_purge(checkpoint jsonb) RETURNS TABLE (checkpoint_id bigint, removed bigint)
LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
DECLARE
    cutoff timestamptz := (checkpoint -> 'data' ->> 'cutoff')::timestamptz;
    first_kept bigint;
    last_id bigint;
    last_hash text;
    total bigint;
    head text;
    new_id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK_ID});
    IF cutoff IS NULL OR checkpoint ->> 'event' IS DISTINCT FROM 'audit.purge'
        OR length(coalesce(checkpoint ->> 'hash', '')) <> 64 THEN
        RAISE EXCEPTION 'audit_purge: not a purge checkpoint record';
    END IF;
    SELECT min(e.id) INTO first_kept FROM {schema}.{EVENTS} e WHERE e.occurred_at >= cutoff;
    SELECT e.id, e.hash INTO last_id, last_hash FROM {schema}.{EVENTS} e
        WHERE first_kept IS NULL OR e.id < first_kept ORDER BY e.id DESC LIMIT 1;
    IF last_id IS NULL THEN
        RAISE EXCEPTION 'audit_purge: no record is older than %', cutoff;
    END IF;
    SELECT count(*) INTO total FROM {schema}.{EVENTS} e WHERE e.id <= last_id;
    SELECT e.hash INTO head FROM {schema}.{EVENTS} e ORDER BY e.id DESC LIMIT 1;
    IF checkpoint ->> 'prev_hash' IS DISTINCT FROM head
        OR (checkpoint -> 'data' ->> 'through_id')::bigint IS DISTINCT FROM last_id
        OR checkpoint -> 'data' ->> 'through_hash' IS DISTINCT FROM last_hash
        OR (checkpoint -> 'data' ->> 'count')::bigint IS DISTINCT FROM total THEN
        RAISE EXCEPTION 'audit_purge: the checkpoint does not describe what the cutoff removes';
    END IF;
    PERFORM set_config('maaledata.audit_purge_through', last_id::text, true);
    INSERT INTO {schema}.{EVENTS} ({EVENT_COLUMNS})
        SELECT {EVENT_COLUMNS} FROM jsonb_populate_record(NULL::{schema}.{EVENTS}, checkpoint)
        RETURNING id INTO new_id;
    INSERT INTO {schema}.{LEDGER}
        (checkpoint_id, checkpoint_hash, through_id, through_hash, count, cutoff, purged_at, purged_by)
        VALUES (new_id, checkpoint ->> 'hash', last_id, last_hash, total, cutoff, now(), session_user);
    DELETE FROM {schema}.{INDEX} m WHERE m.event_id <= last_id;
    DELETE FROM {schema}.{EVENTS} e WHERE e.id <= last_id;
    GET DIAGNOSTICS total = ROW_COUNT;
    PERFORM set_config('maaledata.audit_purge_through', '', true);
    RETURN QUERY SELECT new_id, total;
END;
$$;
REVOKE ALL ON FUNCTION audit_purge(jsonb) FROM PUBLIC;
""",
        f"""
CREATE OR REPLACE FUNCTION audit_delete_only_purged() RETURNS trigger LANGUAGE plpgsql {path} AS $$
DECLARE
    record_id bigint := (to_jsonb(OLD) ->> TG_ARGV[0])::bigint;
    through text := coalesce(current_setting('maaledata.audit_purge_through', true), '');
BEGIN
    IF through ~ '^[0-9]+$' THEN
        IF record_id <= through::bigint AND {_run_by_owner(schema)} THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit log is append-only: % refused on % (only the owner''s audit_purge() deletes)',
        TG_OP, TG_TABLE_NAME {REFUSED};
END;
$$;
CREATE FUNCTION audit_insert_only_in_purge() RETURNS trigger LANGUAGE plpgsql {path} AS $$
BEGIN
    IF coalesce(current_setting('maaledata.audit_purge_through', true), '') ~ '^[0-9]+$' THEN
        IF {_run_by_owner(schema)} THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit log: % refused on % (purge checkpoints are written only by the owner''s audit_purge())',
        TG_OP, TG_TABLE_NAME {REFUSED};
END;
$$;
CREATE TRIGGER audit_checkpoint_only_by_purge BEFORE INSERT ON {EVENTS}
    FOR EACH ROW WHEN (NEW.event = 'audit.purge') EXECUTE FUNCTION audit_insert_only_in_purge();
CREATE TRIGGER audit_purge_only_by_purge BEFORE INSERT ON {LEDGER}
    FOR EACH ROW EXECUTE FUNCTION audit_insert_only_in_purge();
CREATE TRIGGER audit_purge_no_update BEFORE UPDATE ON {LEDGER} FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_purge_no_delete BEFORE DELETE ON {LEDGER} FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_purge_no_truncate BEFORE TRUNCATE ON {LEDGER}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
""",
    ]


POSTGRES_DOWN = f"""
DROP TRIGGER IF EXISTS audit_checkpoint_only_by_purge ON {EVENTS};
DROP TRIGGER IF EXISTS audit_purge_only_by_purge ON {LEDGER};
DROP TRIGGER IF EXISTS audit_purge_no_update ON {LEDGER};
DROP TRIGGER IF EXISTS audit_purge_no_delete ON {LEDGER};
DROP TRIGGER IF EXISTS audit_purge_no_truncate ON {LEDGER};
DROP FUNCTION IF EXISTS audit_insert_only_in_purge();
CREATE OR REPLACE FUNCTION audit_delete_only_purged() RETURNS trigger AS $$
DECLARE
    record_id bigint := (to_jsonb(OLD) ->> TG_ARGV[0])::bigint;
BEGIN
    IF EXISTS (
        SELECT 1 FROM {EVENTS} c
        WHERE c.event = 'audit.purge' AND c.id > record_id AND (c.data ->> 'through_id')::bigint >= record_id
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit log is append-only: % refused on %', TG_OP, TG_TABLE_NAME {REFUSED};
END;
$$ LANGUAGE plpgsql RESET search_path;
DROP FUNCTION IF EXISTS audit_purge(jsonb);
"""
SQLITE_UP = [
    f"CREATE TRIGGER audit_purge_no_update BEFORE UPDATE ON {LEDGER} "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END;",
    f"CREATE TRIGGER audit_purge_no_delete BEFORE DELETE ON {LEDGER} "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END;",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS audit_purge_no_update;", "DROP TRIGGER IF EXISTS audit_purge_no_delete;"]


def _schema(schema_editor: Any) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT quote_ident(current_schema())")
        return str(cursor.fetchone()[0])


def install(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for sql in postgres_up(_schema(schema_editor)):
            schema_editor.execute(sql, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_UP:
            schema_editor.execute(sql, params=None)


def remove(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for sql in [POSTGRES_DOWN] if vendor == "postgresql" else SQLITE_DOWN if vendor == "sqlite" else []:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_lookup_rate_index")]

    operations = [
        migrations.CreateModel(
            name="AuditPurge",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("checkpoint_id", models.BigIntegerField(unique=True)),
                ("checkpoint_hash", models.CharField(max_length=64)),
                ("through_id", models.BigIntegerField()),
                ("through_hash", models.CharField(max_length=64)),
                ("count", models.BigIntegerField()),
                ("cutoff", models.DateTimeField()),
                ("purged_at", models.DateTimeField()),
                ("purged_by", models.CharField(max_length=64)),
            ],
        ),
        migrations.RunPython(install, remove),
    ]
