"""Hot queries written with the ORM, compiled once, and run as server-side prepared statements.

A read by id spends more time building its decision's SQL (Django compiles the query with its
three EXISTS subqueries on every call) and planning it (PostgreSQL, about 1 ms) than running it
(0.2 ms). `Prepared` keeps the ORM as the one place the query is written and removes both costs:

- the query is built by a function of named arguments; the first call for a shape builds it with
  stand-in values (`_stand_in`), compiles it, and remembers the SQL and where each argument lands
  in its parameters; later calls put the real values in those places and skip the ORM;
- it is executed with server-side binding on Django's own connection (wrapped as Django wraps
  every cursor: errors become Django's, and test query capture sees it), so psycopg prepares it
  on the connection and PostgreSQL plans it once per connection, not once per call; or, with
  `server=False`, bound and planned per call as Django does, for a query whose plan depends on
  its values;
- rows go through the same converters the ORM would apply (JSON fields decoded), so a caller
  gets what `values_list` (`rows`), `values` (`dicts`) or the model (`objects`) gives; those that
  would give back what psycopg already gave for the column's type (`_needless`, checked against the
  first result's column types) are left out.

Compiling twice with two sets of stand-ins is the safety check: the SQL must be the same and every
parameter that is not a stand-in must be equal, so a query that captured a value of its own
(`timezone.now()` in a filter, say) is refused at first use instead of being frozen into the cache.
On SQLite (the zero-setup `make run`) the query simply runs through the ORM.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import itertools
import threading
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from django.db import connections
from django.db.models import DateField, DateTimeField, QuerySet, signals
from django.db.models.base import ModelState
from django.db.models.expressions import BaseExpression
from django.db.models.functions.datetime import TruncBase
from django.db.models.query import ModelIterable, ValuesIterable
from psycopg.types.json import Json, Jsonb

__all__ = ["Prepared", "PreparedQueryError"]

_counter = itertools.count(1)
# Shapes kept per query: a search's page size and comparisons are the caller's to choose (bounded
# but many), so the oldest shape is dropped when a new one would go beyond this.
MAX_SHAPES = 256


class PreparedQueryError(Exception):
    """The query cannot be cached: it holds a value that is not one of its arguments."""


def _stand_in(kind: type, turn: int, index: int) -> object:
    """A value of `kind` that no real argument has, distinct per turn and argument."""
    if kind is bool:
        raise TypeError("a bool argument is a shape: pass it as the shape")
    if kind is str:
        return f"\x1fprepared-{turn}-{index}\x1f"
    if kind is int:
        return -(10**15) - turn * 1000 - index
    if kind is dt.datetime:
        return dt.datetime(1, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=turn * 1000 + index)
    if kind is dt.date:
        return dt.date(1, 1, 1) + dt.timedelta(days=turn * 1000 + index)
    if kind is uuid.UUID:
        return uuid.UUID(int=(1 << 127) + turn * 1000 + index)
    raise TypeError(f"Prepared queries take str, int, date, datetime or UUID arguments, not {kind.__name__}")


@functools.cache
def _cursor_class() -> Any:
    """Django's server-side binding cursor for psycopg 3, preparing every statement it runs."""

    class PreparingCursor(_postgresql().ServerBindingCursor):  # type: ignore[misc]
        def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=True, **kwargs)

        def _send_query_prepared(self, name: bytes, pgq: Any, **kwargs: Any) -> Any:
            self._query = pgq  # as an unprepared execution sets it: Django's query log reads it
            return super()._send_query_prepared(name, pgq, **kwargs)

    return PreparingCursor


def _preparing_cursor(connection: Any) -> Any:
    """A preparing cursor on Django's own psycopg connection, with its time zone as Django sets it."""
    from psycopg.pq import Format

    base = _postgresql()
    cursor = _cursor_class()(connection.connection)
    if connection.timezone != connection.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT).timezone:
        base.register_tzloader(connection.timezone, cursor)
    return cursor


def _loaded(model: Any, using: str, compiled: _Compiled, row: Sequence[Any]) -> Any:
    """The instance `Model.from_db` makes of a row, without its constructor: no model here has
    init signals (checked by the caller), and the constructor's own work is to set each loaded
    field's value and leave the rest deferred, which is what this does (a deferred field is one
    missing from the instance's __dict__). A year's search page builds 1,000 of them."""
    obj = model.__new__(model)
    state = obj._state = ModelState()
    state.adding = False
    state.db = using
    values = obj.__dict__
    values.update(zip(compiled.init_list, row[compiled.fields], strict=True))
    for name, position in compiled.annotations:
        setattr(obj, name, row[position])
    return obj


def _postgresql() -> Any:
    """Django's PostgreSQL backend module (its psycopg 3 names are not in the type stubs)."""
    return importlib.import_module("django.db.backends.postgresql.base")


def _same(value: object, again: object) -> bool:
    """Whether a parameter is the same constant in both builds: psycopg's JSON wrappers (`Jsonb`,
    a JSON field's value) do not compare, so they compare by what they wrap."""
    if type(value) is type(again) and isinstance(value, Json | Jsonb):
        return bool(value.obj == again.obj)  # type: ignore[attr-defined]
    return value == again


def _hashable(value: object) -> bool:
    return isinstance(value, Hashable) and not isinstance(value, list)


# PostgreSQL's type oids whose values psycopg loads as float, int and date.
_FLOAT_TYPES = frozenset({700, 701})  # float4, float8
_INTEGER_TYPES = frozenset({20, 21, 23})  # int8, int2, int4
_DATE_TYPE = 1082
_NUMERIC_CONVERTER = BaseExpression.__dict__["convert_value"]  # float() or int() by the output field


def _needless(converters: Sequence[Any], expression: Any, type_code: int) -> bool:
    """Whether the ORM's `converters` for a column give back what psycopg loaded from a column of
    `type_code`: an expression's own float() or int() (an aggregate's FloatField or IntegerField)
    over a float or integer column, and a date truncation's .date() over a date column. Anything
    else (a JSON field's decoding, an integer sum that PostgreSQL returns as numeric) is kept. The
    daily aggregates' page applied 700 of them to give back the same values (0.6 of 3.4 ms)."""
    if len(converters) != 1 or converters[0] != getattr(expression, "convert_value", None):
        return False
    kind = type(expression)
    if getattr(kind, "convert_value", None) is TruncBase.convert_value:
        field = expression.output_field
        return type_code == _DATE_TYPE and isinstance(field, DateField) and not isinstance(field, DateTimeField)
    if getattr(kind, "convert_value", None) is not _NUMERIC_CONVERTER:  # overridden: its own conversion
        return False
    internal = expression.output_field.get_internal_type()
    if internal == "FloatField":
        return type_code in _FLOAT_TYPES
    return internal.endswith("IntegerField") and type_code in _INTEGER_TYPES


@dataclass(frozen=True)
class _Compiled:
    sql: str
    template: tuple[object, ...]
    # For each parameter position that takes an argument: (position, its name, or the names of an
    # array's elements).
    slots: tuple[tuple[int, str | tuple[str, ...]], ...]
    converters: dict[int, tuple[list[Any], Any]]
    compiler: Any
    # A queryset of model instances (not values): how `objects` builds them, as Django's ModelIterable.
    model: Any = None
    init_list: tuple[str, ...] = ()
    fields: slice = field(default_factory=lambda: slice(0))
    annotations: tuple[tuple[str, int], ...] = ()
    # A `values()` queryset: the names of its columns, in order, as Django's ValuesIterable names them.
    names: tuple[str, ...] = ()
    # Whether `converters` were checked against a result's column types (`_needless`).
    checked: bool = False


class Prepared:
    """`Prepared(build)`: `build(shape=..., **arguments)` returns a queryset ending in `values_list`;
    `.rows(shape, **arguments)` runs it. The arguments are str, int, date, datetime or UUID values;
    `shape` names every choice `build` makes on anything else (whether there is a patient at all,
    say), and each shape (with the arguments' names and types) is compiled once per database."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *, server: bool = True) -> None:
        self._build = build
        # False: compiled once but bound and planned per call as Django does (client-side binding),
        # for a query whose best plan depends on its values: PostgreSQL's generic plan for a
        # prepared statement cannot see them (a search's first page read the whole year, then
        # sorted, instead of the newest 51 rows by the index: 5.5 ms against 1 ms).
        self._server = server
        self._compiled: dict[Hashable, _Compiled] = {}
        self._lock = threading.Lock()

    def rows(self, shape: Hashable = None, *, using: str = "default", **values: Any) -> list[tuple[Any, ...]]:
        """The rows of a `values_list` query, as tuples."""
        if connections[using].vendor != "postgresql":
            return [tuple(row) for row in self._build(shape=shape, **values).using(using)]
        compiled, rows = self._run(shape, using, values)
        return [tuple(row) for row in rows]

    def dicts(self, shape: Hashable = None, *, using: str = "default", **values: Any) -> list[dict[str, Any]]:
        """The rows of a `values()` query, as the dicts the ORM gives."""
        if connections[using].vendor != "postgresql":
            return list(self._build(shape=shape, **values).using(using))
        compiled, rows = self._run(shape, using, values)
        if not compiled.names:
            raise PreparedQueryError("dicts() is for a values() query")
        return [dict(zip(compiled.names, row, strict=True)) for row in rows]

    def objects(self, shape: Hashable = None, *, using: str = "default", **values: Any) -> list[Any]:
        """The model instances of a query that loads a model (`only` and `annotate` allowed, no
        `select_related`), built as the ORM builds them: deferred fields stay deferred, annotations
        are set as attributes."""
        if connections[using].vendor != "postgresql":
            return list(self._build(shape=shape, **values).using(using))
        compiled, rows = self._run(shape, using, values)
        if compiled.model is None:
            raise PreparedQueryError("objects() is for a query of model instances; rows() is for values_list")
        model = compiled.model
        if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
            found = []
            for row in rows:
                obj = model.from_db(using, compiled.init_list, row[compiled.fields])
                for name, position in compiled.annotations:
                    setattr(obj, name, row[position])
                found.append(obj)
            return found
        return [_loaded(model, using, compiled, row) for row in rows]

    def sql(self, shape: Hashable = None, *, using: str = "default", **values: Any) -> tuple[str, list[Any]]:
        """The query's SQL and parameters, as Django's `query.sql_with_params()` gives them, to put
        inside a statement of the caller's (a count, say) run on Django's cursor. PostgreSQL only."""
        _key, compiled, params = self._bind(shape, using, values)
        return compiled.sql, params

    def _bind(self, shape: Hashable, using: str, values: dict[str, Any]) -> tuple[Hashable, _Compiled, list[Any]]:
        if connections[using].vendor != "postgresql":
            raise PreparedQueryError("a prepared query's SQL is PostgreSQL's; on SQLite run it through the ORM")
        arguments = tuple((name, type(value)) for name, value in sorted(values.items()))
        key = (using, shape, arguments)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key) or self._compile(using, shape, dict(arguments))
                while len(self._compiled) >= MAX_SHAPES:  # the oldest first: a caller cannot grow it
                    self._compiled.pop(next(iter(self._compiled)))
                self._compiled[key] = compiled
        params = list(compiled.template)
        for position, name in compiled.slots:
            params[position] = values[name] if isinstance(name, str) else [values[n] for n in name]
        return key, compiled, params

    def _run(self, shape: Hashable, using: str, values: dict[str, Any]) -> tuple[_Compiled, list[Any]]:
        connection: Any = connections[using]
        key, compiled, params = self._bind(shape, using, values)
        if self._server:
            connection.close_if_health_check_failed()
            connection.ensure_connection()
            with connection.wrap_database_errors:
                cursor = connection._prepare_cursor(_preparing_cursor(connection))
        else:
            cursor = connection.cursor()
        with cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
            if not compiled.checked:
                compiled = self._check(key, compiled, cursor.description)
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        return compiled, rows

    def _check(self, key: Hashable, compiled: _Compiled, description: Sequence[Any]) -> _Compiled:
        """`compiled` without the converters that give back what psycopg gave (`_needless`), for
        the column types of this result, which are the same for every run of the same SQL."""
        kept = {
            position: (converters, expression)
            for position, (converters, expression) in compiled.converters.items()
            if not _needless(converters, expression, description[position].type_code)
        }
        checked = replace(compiled, converters=kept, checked=True)
        with self._lock:
            if self._compiled.get(key) is compiled:
                self._compiled[key] = checked
        return checked

    def _compile_once(
        self, using: str, shape: Hashable, arguments: dict[str, type], turn: int
    ) -> tuple[str, tuple[object, ...], dict[str, object], Any, Any]:
        stand_ins = {name: _stand_in(kind, turn, index) for index, (name, kind) in enumerate(arguments.items())}
        queryset = self._build(shape=shape, **stand_ins).using(using)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        return sql, tuple(params), stand_ins, compiler, queryset

    def _compile(self, using: str, shape: Hashable, arguments: dict[str, type]) -> _Compiled:
        first, second = next(_counter), next(_counter)
        sql, params, stand_ins, compiler, queryset = self._compile_once(using, shape, arguments, first)
        sql_again, params_again, stand_ins_again, _, _ = self._compile_once(using, shape, arguments, second)
        by_value = {value: name for name, value in stand_ins.items()}
        by_value_again = {value: name for name, value in stand_ins_again.items()}
        if sql != sql_again or len(params) != len(params_again):
            raise PreparedQueryError("the query's SQL depends on something other than its arguments and shape")
        slots: list[tuple[int, str | tuple[str, ...]]] = []
        for position, (value, value_again) in enumerate(zip(params, params_again, strict=True)):
            if isinstance(value, list) and any(_hashable(v) and v in by_value for v in value):
                # An array of arguments (`= ANY(%s)`): every element must be one.
                names = tuple(by_value.get(v) if _hashable(v) else None for v in value)
                again = tuple(
                    by_value_again.get(v) if _hashable(v) else None for v in cast("list[object]", value_again)
                )
                if None in names or names != again:
                    raise PreparedQueryError(f"parameter {position} mixes arguments and other values")
                slots.append((position, cast("tuple[str, ...]", names)))
                continue
            name = by_value.get(value) if _hashable(value) else None
            if name is not None:
                if by_value_again.get(value_again) != name:
                    raise PreparedQueryError(f"argument {name} lands in different places")
                slots.append((position, name))
            elif not _same(value, value_again):
                raise PreparedQueryError(
                    f"parameter {position} ({value!r}) is not an argument and changes between builds"
                )
        # An argument the shape does not use is simply absent; one transformed on the way in (a LIKE
        # pattern, say) differs between the two builds and was refused above.
        selected = [column for column, _sql, _alias in compiler.select[: compiler.col_count]]
        compiled = _Compiled(sql, params, tuple(slots), compiler.get_converters(selected), compiler)
        if queryset._iterable_class is ValuesIterable:
            query = queryset.query
            return replace(compiled, names=(*query.extra_select, *query.values_select, *query.annotation_select))
        if queryset._iterable_class is not ModelIterable:
            return compiled
        info = compiler.klass_info
        if info.get("related_klass_infos") or queryset._known_related_objects or compiler.query.extra_select:
            raise PreparedQueryError("a prepared query of model instances loads one model and nothing related")
        start, end = info["select_fields"][0], info["select_fields"][-1] + 1
        return replace(
            compiled,
            model=info["model"],
            init_list=tuple(column[0].target.attname for column in compiler.select[start:end]),
            fields=slice(start, end),
            annotations=tuple(compiler.annotation_col_map.items()),
        )
