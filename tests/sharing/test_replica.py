"""The hot standby's parts that need no standby (the rest: tests/replica, with real clusters).

Without REPLICA_DATABASE_URL (as in this suite) nothing changes: no router, no extra query.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, transaction

from portal.settings import database
from sharing.core import replica
from sharing.measurements.models import Measurement


def test_a_multi_host_url_becomes_libpq_host_and_port_lists():
    config = database("postgres://app@db1:5433,db2/maaledata?target_session_attrs=read-write", 60)
    assert config["HOST"] == "db1,db2"
    assert config["PORT"] == "5433,5432"
    assert config["NAME"] == "maaledata" and config["USER"] == "app"
    # psycopg may prepare what sharing.core.prepared asks it to (Django turns that off by default).
    assert config["OPTIONS"] == {"target_session_attrs": "read-write", "prepare_threshold": 5}
    assert config["CONN_HEALTH_CHECKS"] is True


def test_a_single_host_url_is_parsed_as_before():
    config = database("postgres://app@db1:5433/maaledata", 60)
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db1", 5433, "maaledata")


@pytest.mark.django_db
def test_without_a_replica_nothing_is_routed_and_no_query_is_sent(django_assert_num_queries):
    assert "replica" not in settings.DATABASES
    assert not getattr(settings, "DATABASE_ROUTERS", [])
    with django_assert_num_queries(0):
        assert replica.on_standby(lambda: 42) == 42
        assert replica.read_alias() == DEFAULT_DB_ALIAS
        replica.synchronous_commit()


def test_the_router_sends_every_write_and_every_read_outside_the_door_to_the_primary():
    router = replica.StandbyRouter()
    assert router.db_for_write(Measurement) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Measurement) == DEFAULT_DB_ALIAS
    assert router.allow_migrate("replica", "measurements") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "measurements") is True


@pytest.mark.django_db
def test_synchronous_commit_is_set_for_the_transaction_only(settings):
    settings.REPLICA_SYNCHRONOUS_COMMIT = "remote_apply"
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        outside = cursor.fetchone()[0]
        with transaction.atomic():
            replica.synchronous_commit()
            cursor.execute("SHOW synchronous_commit")
            inside = cursor.fetchone()[0]
    assert inside == "remote_apply"
    assert outside != "remote_apply"


def test_a_bad_synchronous_commit_level_stops_the_process():
    env = {**os.environ, "REPLICA_SYNCHRONOUS_COMMIT": "off; DROP TABLE x"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "REPLICA_SYNCHRONOUS_COMMIT must be" in done.stderr
