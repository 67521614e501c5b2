"""The `make run` demo database (SQLite) is append-only too, and its purge keeps the chain whole.

The suite runs on PostgreSQL; this test migrates a fresh SQLite file in a subprocess, as
`make run` does, and checks the SQLite triggers there.
"""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

WRITE_AND_PURGE = """
import datetime as dt
from django.utils import timezone
from sharing.core.actor import Actor
from sharing.audit.actions import purge_expired, record_event
from sharing.audit.verify import verify_chain
actor = Actor(name="demo")
for n in range(3):
    record_event(event="patient.lookup", outcome="granted", by=actor, data={"n": n}, municipalities=["311111019"])
print("written", verify_chain().checked)
"""
PURGE = """
import datetime as dt
from django.utils import timezone
from sharing.core.actor import Actor
from sharing.audit.actions import purge_expired
from sharing.audit.verify import verify_chain
result = purge_expired(by=Actor(name="purge"), now=timezone.now() + dt.timedelta(days=6 * 366))
report = verify_chain()
print("purged", result.removed, "ok", report.ok, "checked", report.checked)
"""


def _manage(db: Path, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "DJANGO_ENV": "development"}
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("sqlite") / "demo.sqlite3"
    _manage(db, "migrate", "--no-input", "-v", "0")
    assert "written 3" in _manage(db, "shell", "-c", WRITE_AND_PURGE)
    return db


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET reason = 'changed'",
        "DELETE FROM audit_auditevent",
        "UPDATE audit_auditeventmunicipality SET municipality = '315555019'",
        "DELETE FROM audit_auditeventmunicipality",
    ],
)
def test_sqlite_refuses_changes(statement, sqlite_demo):
    with sqlite3.connect(sqlite_demo) as db, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute(statement)


def test_sqlite_purge_removes_through_its_checkpoint(tmp_path):
    db = tmp_path / "purge.sqlite3"
    _manage(db, "migrate", "--no-input", "-v", "0")
    _manage(db, "shell", "-c", WRITE_AND_PURGE)
    assert "purged 3 ok True checked 1" in _manage(db, "shell", "-c", PURGE)
    assert "Audit chain intact: 1 records verified from purge checkpoint" in _manage(db, "verify_audit")


LOOKUP_LIMIT = """
from django.conf import settings
from django.utils import timezone
from sharing.access.actions import lookup_rate_exceeded
from sharing.core.actor import Actor
from sharing.audit.actions import record_event
ingrid = Actor(sub="sub-ingrid", name="Ingrid Berg")
record_event(event="patient.lookup", outcome="granted", by=ingrid)
record_event(event="api.search", outcome="denied", by=ingrid, data={"denial": "no-agreement"})
record_event(event="api.search", outcome="denied", by=ingrid, data={"denial": "rate-limited"})
record_event(event="patient.view", outcome="granted", by=ingrid)
for limit in (2, 3):
    settings.LOOKUP_RATE_LIMIT_PER_HOUR = limit
    print("limit", limit, "exceeded", lookup_rate_exceeded(by=ingrid, at=timezone.now()))
"""


def test_sqlite_counts_lookups_for_the_hourly_limit(tmp_path):
    """`make run` looks patients up on SQLite: the limit's count must work there (no JSON containment)."""
    db = tmp_path / "limit.sqlite3"
    _manage(db, "migrate", "--no-input", "-v", "0")
    out = _manage(db, "shell", "-c", LOOKUP_LIMIT)
    # Two lookups count (granted, and denied for no agreement); the refusal and the view do not.
    assert "limit 2 exceeded True" in out and "limit 3 exceeded False" in out, out
