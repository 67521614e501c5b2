"""`sharing.core.prepared`: a query built by the ORM once per shape, run prepared on the connection,
gives what the ORM gives for every argument, and refuses a query that holds a value of its own."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devdata import demo
from sharing.agreements.models import Agreement, Organisation
from sharing.core.prepared import Prepared, PreparedQueryError

pytestmark = pytest.mark.django_db


def _agreements(*, shape: bool | int, consumer: str, on: dt.date):
    rows = Agreement.objects.active(on=on).filter(consumer__orgnr=consumer).order_by("pk")
    if shape is True or shape is False:
        return rows.values_list("pk", "controller__orgnr", "bases" if shape else "purpose")
    return rows.values_list("pk")[:shape]  # a page size: part of the SQL


def test_every_call_gets_its_own_arguments_as_the_orm_would(oslo):
    query = Prepared(_agreements)
    today = timezone.localdate()
    for shape in (True, False):
        for consumer in (demo.LOVISENBERG, demo.SAGENE_GP, "999999999"):
            for on in (today, today - dt.timedelta(days=4000)):
                expected = [tuple(row) for row in _agreements(shape=shape, consumer=consumer, on=on)]
                assert query.rows(shape, consumer=consumer, on=on) == expected
    assert query.rows(True, consumer=demo.LOVISENBERG, on=today)  # the data is there: not a vacuous match
    assert (
        query.rows(True, consumer=demo.LOVISENBERG, on=today)[0][2]
        == list(
            Agreement.objects.filter(consumer__orgnr=demo.LOVISENBERG)
            .order_by("pk")
            .values_list("bases", flat=True)[:1]
        )[0]
    )  # a JSON field decoded, as values_list decodes it


def test_it_runs_as_a_prepared_statement_that_the_query_log_shows(oslo):
    query = Prepared(_agreements)
    with CaptureQueriesContext(connection) as captured:
        query.rows(False, consumer=demo.LOVISENBERG, on=timezone.localdate())
    assert len(captured.captured_queries) == 1
    assert '"agreements_agreement"' in captured.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%agreements_agreement%"]
        )
        assert cursor.fetchall(), "the query was not prepared on the connection"


def test_an_argument_the_orm_converts_is_refused_not_frozen(oslo):
    def named(*, shape: None, orgnr: str, marker: uuid.UUID):  # a UUID compared with a text column
        return Organisation.objects.filter(orgnr=orgnr).exclude(name=marker).values_list("name")[:1]

    with pytest.raises(PreparedQueryError, match="not an argument"):
        Prepared(named).rows(orgnr=demo.OSLO, marker=uuid.uuid4())


def test_a_uuid_argument_in_a_sliced_query_finds_each_row_and_no_other(patient_data):
    """The first query of a read by id (`patient_of_measurement`), prepared."""
    from sharing.access.actions import patient_of_measurement
    from sharing.measurements.models import Measurement

    ids = list(Measurement.objects.order_by("effective").values_list("id", "patient_value")[:3])
    other = Measurement.objects.filter(pk=ids[1][0])
    other.update(patient_value=demo.PATIENTS[1].pid)  # a second person's row
    assert [patient_of_measurement(pk).value for pk, _ in ids] == [patient_data, demo.PATIENTS[1].pid, patient_data]
    assert patient_of_measurement(uuid.uuid4()) is None
    other.update(status="entered-in-error")
    assert patient_of_measurement(ids[1][0]) is None
    assert patient_of_measurement(ids[1][0], withdrawn=True).value == demo.PATIENTS[1].pid


def test_a_query_that_holds_a_value_of_its_own_is_refused():
    def recent(*, shape: None, orgnr: str):
        return Agreement.objects.filter(consumer__orgnr=orgnr, created_at__lte=timezone.now()).values_list("pk")

    with pytest.raises(PreparedQueryError, match="not an argument"):
        Prepared(recent).rows(orgnr=demo.OSLO)


def test_a_json_constant_is_kept_and_a_json_argument_of_its_own_refused(oslo):
    """psycopg's JSON wrappers do not compare: a JSON field's constant (the lookup limit's
    `data__denial`) is the same in both builds by what it wraps; one made anew per build is not."""
    from sharing.audit.models import AuditEvent

    def refused(*, shape: None, sub: str):
        return AuditEvent.objects.filter(actor_sub=sub, data__denial="rate-limited").values_list("pk")

    assert Prepared(refused).rows(sub="someone") == []
    fresh = iter(range(10))

    def drifting(*, shape: None, sub: str):
        return AuditEvent.objects.filter(actor_sub=sub, data__denial=f"reason-{next(fresh)}").values_list("pk")

    with pytest.raises(PreparedQueryError, match="not an argument"):
        Prepared(drifting).rows(sub="someone")


def test_its_sql_goes_inside_a_statement_of_the_callers(oslo):
    """`sql()`: the compiled SQL and this call's parameters, as `sql_with_params()` gives them."""
    query = Prepared(_agreements)
    today = timezone.localdate()
    for consumer in (demo.LOVISENBERG, "999999999"):
        sql, params = query.sql(True, consumer=consumer, on=today)
        expected_sql, expected_params = _agreements(shape=True, consumer=consumer, on=today).query.sql_with_params()
        assert (sql, params) == (expected_sql, list(expected_params))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({sql}) AS found", params)  # noqa: S608 - SQL from the ORM
            assert cursor.fetchone()[0] == _agreements(shape=True, consumer=consumer, on=today).count()
    assert query.sql(True, consumer=demo.LOVISENBERG, on=today)[1] != params  # each call its own values


def test_without_postgresql_the_orm_runs_it(oslo, monkeypatch):
    query = Prepared(_agreements)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with CaptureQueriesContext(connection) as captured:
        rows = query.rows(True, consumer=demo.LOVISENBERG, on=timezone.localdate())
    assert rows == [tuple(row) for row in _agreements(shape=True, consumer=demo.LOVISENBERG, on=timezone.localdate())]
    assert not query._compiled  # nothing compiled for PostgreSQL
    assert len(captured.captured_queries) == 1


def test_the_shapes_kept_are_bounded(oslo, monkeypatch):
    from sharing.core import prepared

    monkeypatch.setattr(prepared, "MAX_SHAPES", 3)
    query = Prepared(_agreements)
    for count in range(1, 6):  # five shapes, as a caller choosing five page sizes would make
        rows = query.rows(count, consumer=demo.LOVISENBERG, on=timezone.localdate())
        assert rows == [tuple(r) for r in _agreements(shape=count, consumer=demo.LOVISENBERG, on=timezone.localdate())]
    assert len(query._compiled) == 3
    assert [key[1] for key in query._compiled] == [3, 4, 5]


def _listed(*, shape, patient: str):
    from django.db.models import F

    from sharing.measurements.models import Measurement

    return (
        Measurement.objects.filter(patient_value=patient)
        .only("id", "kind", "effective", "flags", "components")
        .annotate(twice=F("version") * 2)
        .order_by("effective", "id")[:20]
    )


def _as_loaded(obj):
    return (
        type(obj),
        {k: v for k, v in obj.__dict__.items() if k != "_state"},
        obj.get_deferred_fields(),
        (obj._state.adding, obj._state.db),
    )


def test_model_instances_are_the_ones_the_orm_makes(patient_data):
    """Loaded fields decoded, the rest deferred (and loaded on use), annotations set, saved state."""
    expected = list(_listed(shape=None, patient=patient_data))
    found = Prepared(_listed).objects(patient=patient_data)
    assert expected and [_as_loaded(o) for o in found] == [_as_loaded(o) for o in expected]
    assert isinstance(found[0].components, dict) and found[0].twice == 2 * found[0].version  # deferred: a query


def test_with_an_init_signal_the_models_own_constructor_makes_them(patient_data):
    from django.db.models.signals import post_init

    from sharing.measurements.models import Measurement

    seen = []

    def count(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(count, sender=Measurement)
    try:
        found = Prepared(_listed).objects(patient=patient_data)
    finally:
        post_init.disconnect(count, sender=Measurement)
    assert found and seen == found


def _daily(*, shape: None, patient: str):
    from django.db.models import BigIntegerField, Count, Min, Sum
    from django.db.models.functions import Cast, TruncDate

    from sharing.measurements.models import Measurement

    return (
        Measurement.objects.filter(patient_value=patient)
        .annotate(day=TruncDate("effective", tzinfo=timezone.get_current_timezone()))
        .values("kind", "day")
        .annotate(
            n=Count("id"),
            total=Sum("value"),
            low=Min("value"),
            # PostgreSQL sums a bigint as numeric, which psycopg loads as a Decimal: int() is needed.
            versions=Sum(Cast("version", BigIntegerField())),
        )
        .order_by("kind", "day")
    )


def test_converters_that_change_nothing_are_left_out_and_the_others_kept(patient_data):
    """Daily aggregates as the ORM gives them, value for value and type for type, with only the
    converter that changes something (the numeric sum's int()) still applied after the first run."""
    from decimal import Decimal

    query = Prepared(_daily)
    expected = list(_daily(shape=None, patient=patient_data))
    for _run in range(2):  # the first run checks the column types, the second runs checked
        found = query.dicts(patient=patient_data)
        assert expected and found == expected
        assert [{k: type(v) for k, v in row.items()} for row in found] == [
            {k: type(v) for k, v in row.items()} for row in expected
        ]
    row = next(row for row in found if row["total"] is not None)  # blood pressure has parts, no value
    assert (type(row["day"]), type(row["n"]), type(row["total"]), type(row["versions"])) == (dt.date, int, float, int)
    (compiled,) = query._compiled.values()
    assert compiled.checked
    assert [expression.output_field.get_internal_type() for _c, expression in compiled.converters.values()] == [
        "BigIntegerField"  # the numeric sum's: the only one kept
    ]
    with connection.cursor() as cursor:  # the kept one is needed: PostgreSQL gives that column as numeric
        cursor.execute(*_daily(shape=None, patient=patient_data).query.sql_with_params())
        assert isinstance(cursor.fetchone()[-1], Decimal)
