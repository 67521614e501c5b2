"""Timestamps read by psycopg's C loader are the ones Django's own loader reads."""

import datetime as dt

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from hypothesis import given, settings
from hypothesis import strategies as st

from sharing.core.pgtypes import TIMESTAMPTZ_OID, tz_loader

pytestmark = pytest.mark.django_db

# Naive bounds, as hypothesis wants them; the moments themselves are in UTC.
_moments = st.datetimes(
    min_value=dt.datetime(1, 1, 2),  # noqa: DTZ001
    max_value=dt.datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)


def _skip_unless_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("psycopg's loaders are PostgreSQL's: SQLite reads timestamps through Django's converters")


def test_a_connection_reads_timestamptz_with_the_fast_loader():
    _skip_unless_postgresql()
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, 0)
        assert loader.__name__ == "FastTzLoader"
        assert loader.timezone == connection.timezone
        cursor.execute("SELECT '2026-03-29 01:30:00.5+02'::timestamptz, NULL::timestamptz")
        assert cursor.fetchone() == (dt.datetime(2026, 3, 28, 23, 30, 0, 500000, tzinfo=dt.UTC), None)


@settings(max_examples=200, deadline=None)
@given(moment=_moments, zone=st.sampled_from(["UTC", "Europe/Oslo", "America/St_Johns", "Asia/Kolkata"]))
def test_what_the_fast_loader_reads_is_what_djangos_reads(moment, zone):
    """Whatever the session's time zone (Django sets UTC), both parse the same text the same way."""
    _skip_unless_postgresql()

    class DjangoLoader(BaseTzLoader):
        timezone = connection.timezone

    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
        cursor.execute("SELECT %s::timestamptz::text", [moment])
        (text,) = cursor.fetchone()
        raw = text.encode()
        context = cursor.cursor
        fast = tz_loader(connection.timezone)(TIMESTAMPTZ_OID, context).load(raw)
        assert fast == DjangoLoader(TIMESTAMPTZ_OID, context).load(raw)
        assert fast.tzinfo is connection.timezone
