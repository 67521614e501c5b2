"""Columns of random values looked up by equality keep their unique index and have no LIKE index
beside it (sharing/core/pattern_index.py; audit 0009, fhir 0005)."""

import pytest
from django.db import IntegrityError, connection, transaction

from sharing.core.pattern_index import drop_pattern_index
from sharing.fhir.models import UsedDpopProof
from tests.dbroles import as_owner

pytestmark = pytest.mark.django_db(transaction=True)

COLUMNS = (("audit_auditevent", "hash"), ("fhir_useddpopproof", "jti"))


def _indexes(table: str, column: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_attribute a ON a.attrelid = t.oid "
            "AND a.attnum = ANY(x.indkey) WHERE t.relname = %s AND a.attname = %s",
            [table, column],
        )
        return dict(cursor.fetchall())


def _skip_unless_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the pattern-ops index is PostgreSQL's: SQLite never had one")


@pytest.mark.parametrize(("table", "column"), COLUMNS)
def test_the_column_has_its_unique_index_and_no_pattern_index(table, column):
    _skip_unless_postgresql()
    found = _indexes(table, column)
    assert f"{table}_{column}_key" in found and "UNIQUE" in found[f"{table}_{column}_key"]
    assert not [name for name, definition in found.items() if "varchar_pattern_ops" in definition]


def test_a_proofs_jti_is_still_single_use():
    UsedDpopProof.objects.create(jti="the-same")
    with pytest.raises(IntegrityError), transaction.atomic():
        UsedDpopProof.objects.create(jti="the-same")


def test_the_operation_drops_the_index_and_its_reversal_makes_it_again():
    _skip_unless_postgresql()
    operation = drop_pattern_index("fhir_useddpopproof", "jti")
    with as_owner(), connection.schema_editor() as editor:  # the running application's role may not
        operation.reverse_code(None, editor)
    assert any("varchar_pattern_ops" in d for d in _indexes("fhir_useddpopproof", "jti").values())
    with as_owner(), connection.schema_editor() as editor:
        operation.code(None, editor)
    assert not any("varchar_pattern_ops" in d for d in _indexes("fhir_useddpopproof", "jti").values())
