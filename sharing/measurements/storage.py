"""Bulk inserts for ingest that do not spend their time quoting.

Django's PostgreSQL backend binds parameters on the client by default, so a Bundle's
bulk_create turns every value, including each raw resource's JSON text, into a quoted SQL
literal in Python: that took most of a 1,000-entry Bundle's database time. Here the same
``INSERT ... SELECT FROM unnest(...)`` is sent with server-side binding (psycopg's plain
cursor, on Django's connection and inside its transaction), so values travel as parameters
through psycopg's C dumpers. Other databases (SQLite in development) use bulk_create.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from psycopg.types.json import Jsonb

from sharing.core.jsontext import fast_json

BATCH = 1000
M = TypeVar("M", bound=models.Model)


def insert(objs: Sequence[M], *, ignore_conflicts: bool = False) -> set[Any] | None:
    """Insert ``objs`` (one model, primary keys set unless auto). Returns the inserted primary
    keys when ``ignore_conflicts`` (rows whose unique constraints were already taken are left out),
    else None."""
    if not objs:
        return set() if ignore_conflicts else None
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, ignore_conflicts=ignore_conflicts, batch_size=BATCH)
        if not ignore_conflicts:
            return None
        pks = [obj.pk for obj in objs]
        return set(model._default_manager.filter(pk__in=pks).values_list("pk", flat=True)) & set(pks)
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
    sql = _statement(model, fields, ignore_conflicts)
    inserted: set[Any] = set()
    conn = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    conn.ensure_connection()
    with psycopg.Cursor(conn.connection) as cursor:
        for start in range(0, len(objs), BATCH):
            chunk = objs[start : start + BATCH]
            columns = [_column(f, chunk, conn) for f in fields]
            cursor.execute(sql, columns)
            if ignore_conflicts:
                inserted.update(row[0] for row in cursor.fetchall())
    return inserted if ignore_conflicts else None


# Field types whose Python value is what psycopg sends as it is (aware datetimes, UUIDs, str, numbers).
_AS_IS = (models.CharField, models.TextField, models.FloatField, models.IntegerField, models.UUIDField)


def _column(field: Any, objs: Sequence[models.Model], conn: Any) -> list[Any]:
    attname = field.attname
    if isinstance(field, models.FloatField):  # one array type: an int among floats cannot be dumped
        return [None if (v := getattr(obj, attname)) is None else float(v) for obj in objs]
    if isinstance(field, _AS_IS) or (field.is_relation and isinstance(field.target_field, _AS_IS)):
        return [getattr(obj, attname) for obj in objs]
    if isinstance(field, models.DateTimeField) and not (field.auto_now or field.auto_now_add):
        return [getattr(obj, attname) for obj in objs]
    if isinstance(field, models.JSONField) and field.encoder is None:  # as get_db_prep_save, faster text
        return [None if (v := getattr(obj, attname)) is None else Jsonb(v, dumps=json_text) for obj in objs]
    return [field.get_db_prep_save(field.pre_save(obj, True), conn) for obj in objs]


def json_text(value: Any) -> bytes | str:
    """A JSON column's text: orjson's where it writes what json would (sharing.core.jsontext)."""
    return fast_json(value) or json.dumps(value)


def _statement(model: type[models.Model], fields: list[Any], ignore_conflicts: bool) -> str:
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    # Binary parameters (%b): text-format arrays would escape every element with a regex.
    # Array types without length (varchar[] rather than varchar(32)[]): the column checks lengths.
    arrays = ", ".join(f"%b::{f.db_type(connection).split('(')[0]}[]" for f in fields)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608 - names from the model
    if ignore_conflicts:
        sql += f" ON CONFLICT DO NOTHING RETURNING {quote(model._meta.pk.column)}"
    return sql
