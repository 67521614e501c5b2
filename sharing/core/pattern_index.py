"""A migration operation that drops the `varchar_pattern_ops` index Django makes beside a unique
CharField on PostgreSQL (`<table>_<column>_<hash>_like`), for LIKE 'prefix%' lookups.

Where a column holds random values looked up only by equality (a hash, a DPoP proof's jti), that
index serves no query and costs every insert a second random-key B-tree write. The model states
the column's uniqueness as a named UniqueConstraint instead of `unique=True`, which Django does
not pair with a pattern index, and the migration drops the one the old `unique=True` made.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def drop_pattern_index(table: str, column: str) -> migrations.RunPython:
    """Drop `table`.`column`'s pattern-ops index on PostgreSQL; back again on reversal."""

    def drop(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
                "AND indexdef LIKE %s",
                [table, f"%({column} varchar_pattern_ops)"],
            )
            for (name,) in cursor.fetchall():
                schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")

    def create(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        name = schema_editor.quote_name(f"{table}_{column}_like")
        schema_editor.execute(
            f"CREATE INDEX {name} ON {schema_editor.quote_name(table)} "
            f"({schema_editor.quote_name(column)} varchar_pattern_ops)"
        )

    return migrations.RunPython(drop, create)


def unique_without_pattern_index(
    *, model_name: str, field: str, max_length: int, table: str
) -> migrations.SeparateDatabaseAndState:
    """`field` stated as a named UniqueConstraint (`<table>_<field>_key`, the name the database's
    constraint already has) instead of `unique=True`; its pattern-ops index dropped."""
    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AlterField(model_name=model_name, name=field, field=models.CharField(max_length=max_length)),
            migrations.AddConstraint(
                model_name=model_name,
                constraint=models.UniqueConstraint(fields=[field], name=f"{table}_{field}_key"),
            ),
        ],
        database_operations=[drop_pattern_index(table, field)],
    )
