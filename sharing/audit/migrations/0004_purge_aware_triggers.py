"""Append-only, with one way out: the retention purge.

A record may be deleted only when a later `audit.purge` checkpoint record covers it
(`data.through_id` >= its id). The purge writes that checkpoint, chained like any record, before
it deletes, so nothing leaves the log without the log saying so. UPDATE and TRUNCATE stay refused.
The municipality index (audit_auditeventmunicipality) gets the same treatment.

PostgreSQL: plpgsql trigger functions. SQLite (the `make run` demo): triggers with a WHEN clause.
SQLite drops a table's triggers when Django rebuilds the table (0003 does, to add a constraint),
so all of them are (re)installed here; a later migration that rebuilds audit_auditevent on
SQLite must install them again (tests/sharing/audit/test_sqlite.py notices if one does not).
"""

from typing import Any

from django.db import migrations

EVENTS = "audit_auditevent"
INDEX = "audit_auditeventmunicipality"

POSTGRES_UP = f"""
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
    RAISE EXCEPTION 'audit log is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_no_delete ON {EVENTS};
CREATE TRIGGER audit_no_delete BEFORE DELETE ON {EVENTS}
    FOR EACH ROW EXECUTE FUNCTION audit_delete_only_purged('id');
CREATE TRIGGER audit_municipality_no_update BEFORE UPDATE ON {INDEX}
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_municipality_no_delete BEFORE DELETE ON {INDEX}
    FOR EACH ROW EXECUTE FUNCTION audit_delete_only_purged('event_id');
CREATE TRIGGER audit_municipality_no_truncate BEFORE TRUNCATE ON {INDEX}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""
POSTGRES_DOWN = f"""
DROP TRIGGER IF EXISTS audit_municipality_no_update ON {INDEX};
DROP TRIGGER IF EXISTS audit_municipality_no_delete ON {INDEX};
DROP TRIGGER IF EXISTS audit_municipality_no_truncate ON {INDEX};
DROP TRIGGER IF EXISTS audit_no_delete ON {EVENTS};
CREATE TRIGGER audit_no_delete BEFORE DELETE ON {EVENTS} FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
DROP FUNCTION IF EXISTS audit_delete_only_purged();
"""


def _sqlite_covered(id_column: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM {EVENTS} c WHERE c.event = 'audit.purge' AND c.id > OLD.{id_column} "
        f"AND CAST(json_extract(c.data, '$.through_id') AS INTEGER) >= OLD.{id_column})"
    )


SQLITE_UP = [
    "DROP TRIGGER IF EXISTS audit_no_update;",
    f"CREATE TRIGGER audit_no_update BEFORE UPDATE ON {EVENTS} "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END;",
    "DROP TRIGGER IF EXISTS audit_no_delete;",
    f"CREATE TRIGGER audit_no_delete BEFORE DELETE ON {EVENTS} WHEN NOT {_sqlite_covered('id')} "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END;",
    f"CREATE TRIGGER audit_municipality_no_update BEFORE UPDATE ON {INDEX} "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END;",
    f"CREATE TRIGGER audit_municipality_no_delete BEFORE DELETE ON {INDEX} WHEN NOT {_sqlite_covered('event_id')} "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END;",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_municipality_no_update;",
    "DROP TRIGGER IF EXISTS audit_municipality_no_delete;",
    "DROP TRIGGER IF EXISTS audit_no_delete;",
    f"CREATE TRIGGER audit_no_delete BEFORE DELETE ON {EVENTS} "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END;",
]


def _run(schema_editor: Any, postgres: list[str], sqlite: list[str]) -> None:
    vendor = schema_editor.connection.vendor
    for sql in postgres if vendor == "postgresql" else sqlite if vendor == "sqlite" else []:
        schema_editor.execute(sql, params=None)


def install(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, [POSTGRES_UP], SQLITE_UP)


def remove(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, [POSTGRES_DOWN], SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_municipalities_and_indexes")]
    operations = [migrations.RunPython(install, remove)]
