"""No change to who may see what without its record in the access log, enforced by PostgreSQL.

The running application's role may write the tables that decide access (organisations and units,
agreements and their units and revisions, reservations, processing agreements, senders, memberships,
role grants, identity links): the admin pages do, through `actions.py`, each in one transaction with
its audit record. Here the database itself holds every such transaction to that: a deferred
constraint trigger on each table checks at commit that the transaction has written an audit record,
and refuses the commit otherwise. Someone with the application's credentials can then no longer
grant themselves an agreement or a role in silence; whatever they change leaves a record in the
hash-chained, append-only log.

How a transaction is recognised: each audit record keeps the top-level transaction id that wrote it
(`xact`, default `txid_current()`, the same inside savepoints). Writers hold the chain's advisory
lock until they commit (sharing/audit/actions.py), so at commit the newest record this transaction
can see is its own if it wrote one. PostgreSQL only: the SQLite demo database has no such guard.
"""

from typing import Any

from django.db import migrations

GUARDED = (
    "agreements_organisation",
    "agreements_agreement",
    "agreements_agreement_units",
    "agreements_agreementrevision",
    "agreements_reservation",
    "agreements_reservation_consumers",
    "agreements_processingagreement",
    "agreements_senderauthorisation",
    "access_membership",
    "access_rolegrant",
    "measurements_identitylink",
)

COLUMN = """
ALTER TABLE audit_auditevent ADD COLUMN xact bigint;
ALTER TABLE audit_auditevent ALTER COLUMN xact SET DEFAULT txid_current();
"""
FUNCTION = """
CREATE OR REPLACE FUNCTION audited_change_required() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM (SELECT xact FROM audit_auditevent ORDER BY id DESC LIMIT 1) AS newest
        WHERE newest.xact = txid_current()
    ) THEN
        RAISE EXCEPTION 'a change to % needs its audit record in the same transaction', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
TRIGGER = """
CREATE CONSTRAINT TRIGGER {table}_audited AFTER INSERT OR UPDATE OR DELETE ON {table}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audited_change_required();
"""
DROP_TRIGGER = "DROP TRIGGER IF EXISTS {table}_audited ON {table};"
DROP = """
DROP FUNCTION IF EXISTS audited_change_required();
ALTER TABLE audit_auditevent DROP COLUMN IF EXISTS xact;
"""


def install(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(COLUMN, params=None)
    schema_editor.execute(FUNCTION, params=None)
    for table in GUARDED:
        schema_editor.execute(TRIGGER.format(table=table), params=None)


def remove(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in GUARDED:
        schema_editor.execute(DROP_TRIGGER.format(table=table), params=None)
    schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0004_known_person"),
        ("agreements", "0005_lookback_from_start"),
        ("audit", "0008_org_time_index"),
        ("measurements", "0007_patient_codes"),
    ]

    operations = [migrations.RunPython(install, remove)]
