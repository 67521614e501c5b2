"""Two scratch PostgreSQL clusters on loopback: a primary and its streaming hot standby.

Used by `make bench-replica` (bench/replica.py) and the replica tests (tests/replica/). Debian's
tools do the work: `pg_createcluster` makes each cluster, `pg_basebackup -R` copies the primary
into the standby's data directory and writes its `primary_conninfo`, `pg_ctlcluster` starts,
crashes (`stop -m immediate`) and promotes. Both clusters are dropped when the `pair()` block
ends, also on failure. Needs root (or the postgres user) on a machine with PostgreSQL 15.

The primary names the standby in `synchronous_standby_names` and keeps `synchronous_commit =
local` as its default: a transaction waits for the standby only when it asks to (ingest and the
access log, REPLICA_SYNCHRONOUS_COMMIT). Authentication on the scratch clusters is `trust` from
127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

VERSION = "15"
STANDBY_NAME = "maaledata_standby"
DATABASE = "maaledata"
OWNER = "postgres"
RUNTIME_ROLE = "maaledata_app"
ROOT = Path(__file__).resolve().parent.parent
HBA = """\
local all all peer
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
"""


def _run(*cmd: str, timeout: float = 120, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _as_postgres(*cmd: str, timeout: float = 120) -> str:
    if os.geteuid() == 0:
        return _run("runuser", "-u", "postgres", "--", *cmd, timeout=timeout)
    return _run(*cmd, timeout=timeout)


def available() -> str:
    """Empty when clusters can be made here, else why not."""
    if not shutil.which("pg_createcluster"):
        return "Debian's postgresql-common (pg_createcluster) is not installed"
    if not Path(f"/usr/lib/postgresql/{VERSION}/bin/pg_basebackup").exists():
        return f"PostgreSQL {VERSION} is not installed"
    if os.geteuid() != 0:
        return "making PostgreSQL clusters needs root"
    return ""


def _exists(name: str) -> bool:
    return Path(f"/etc/postgresql/{VERSION}/{name}/postgresql.conf").exists()


def drop(name: str) -> None:
    if _exists(name):
        subprocess.run(["pg_dropcluster", "--stop", VERSION, name], capture_output=True, timeout=60, check=False)
    # pg_dropcluster leaves what it did not write (our conf.d file)
    shutil.rmtree(f"/etc/postgresql/{VERSION}/{name}", ignore_errors=True)


@dataclass
class Pair:
    primary_port: int
    standby_port: int
    synchronous: bool = True

    @property
    def primary(self) -> str:
        return f"maaledata_primary_{self.primary_port}"

    @property
    def standby(self) -> str:
        return f"maaledata_standby_{self.standby_port}"

    def url(self, port: int, *, role: str = RUNTIME_ROLE) -> str:
        return f"postgres://{role}@127.0.0.1:{port}/{DATABASE}"

    def primary_url(self, *, role: str = RUNTIME_ROLE) -> str:
        """The portal's DATABASE_URL: both hosts, the read-write one wins (after promotion, the standby)."""
        return (
            f"postgres://{role}@127.0.0.1:{self.primary_port},127.0.0.1:{self.standby_port}/{DATABASE}"
            "?target_session_attrs=read-write"
        )

    def standby_url(self, *, role: str = RUNTIME_ROLE) -> str:
        return self.url(self.standby_port, role=role)

    def psql(self, port: int, sql: str, *, database: str = DATABASE) -> str:
        return _run(
            f"/usr/lib/postgresql/{VERSION}/bin/psql",
            "-X",
            "-qAt",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            OWNER,
            "-d",
            database,
            "-c",
            sql,
        ).strip()

    def has_standby(self) -> bool:
        return _exists(self.standby)

    # --- making and dropping -----------------------------------------------------------

    def _create(self, name: str, port: int, *, primary: bool) -> None:
        drop(name)  # a leftover of a killed run
        options = {
            "listen_addresses": "'127.0.0.1'",
            "shared_buffers": "'32MB'",
            "max_connections": "60",
            "wal_level": "replica",
            "max_wal_senders": "5",
            "wal_keep_size": "'256MB'",
            "synchronous_commit": "local",
            "hot_standby": "on",
            "log_min_messages": "warning",
        }
        if primary and self.synchronous:
            options["synchronous_standby_names"] = f"'{STANDBY_NAME}'"
        _run("pg_createcluster", VERSION, name, "-p", str(port), "--start-conf=manual")
        conf = Path(f"/etc/postgresql/{VERSION}/{name}")
        (conf / "conf.d").mkdir(exist_ok=True)
        (conf / "conf.d" / "maaledata.conf").write_text("".join(f"{k} = {v}\n" for k, v in options.items()))
        (conf / "pg_hba.conf").write_text(HBA)

    def create_primary(self) -> None:
        self._create(self.primary, self.primary_port, primary=True)
        _run("pg_ctlcluster", VERSION, self.primary, "start")
        self.psql(self.primary_port, f"CREATE DATABASE {DATABASE}", database="postgres")

    def create_standby(self, *, made: bool = False) -> None:
        """A fresh copy of the primary (pg_basebackup), streaming, named STANDBY_NAME."""
        if not made:
            self._create(self.standby, self.standby_port, primary=False)
        data = Path(f"/var/lib/postgresql/{VERSION}/{self.standby}")
        for item in data.iterdir():  # keep the directory itself (postgres's, mode 0700)
            shutil.rmtree(item) if item.is_dir() else item.unlink()
        conninfo = f"host=127.0.0.1 port={self.primary_port} user={OWNER} application_name={STANDBY_NAME}"
        _as_postgres(
            f"/usr/lib/postgresql/{VERSION}/bin/pg_basebackup",
            "-d",
            conninfo,
            "-D",
            str(data),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
        )
        _run("pg_ctlcluster", VERSION, self.standby, "start")
        self.wait_streaming()

    def drop(self) -> None:
        drop(self.standby)
        drop(self.primary)

    # --- states ------------------------------------------------------------------------

    def wait_streaming(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        query = f"SELECT state FROM pg_stat_replication WHERE application_name = '{STANDBY_NAME}'"  # noqa: S608
        while time.monotonic() < deadline:
            if self.psql(self.primary_port, query, database="postgres") == "streaming":
                return
            time.sleep(0.05)
        raise RuntimeError("the standby did not start streaming")

    def wait_caught_up(self, seconds: float = 30) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        target = self.psql(self.primary_port, "SELECT pg_current_wal_lsn()", database="postgres")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            done = self.psql(
                self.standby_port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn", database="postgres"
            )
            if done == "t":
                return
            time.sleep(0.02)
        raise RuntimeError("the standby did not catch up")

    def crash_primary(self) -> None:
        """What a power cut does to PostgreSQL: no shutdown checkpoint, no goodbye to the standby."""
        _run("pg_ctlcluster", VERSION, self.primary, "stop", "-m", "immediate")

    def promote_standby(self) -> None:
        _run("pg_ctlcluster", VERSION, self.standby, "promote")
        deadline = time.monotonic() + 30
        while self.psql(self.standby_port, "SELECT pg_is_in_recovery()", database="postgres") != "f":
            if time.monotonic() > deadline:
                raise RuntimeError("the standby was not promoted")
            time.sleep(0.02)

    def stop_standby(self) -> None:
        _run("pg_ctlcluster", VERSION, self.standby, "stop", "-m", "fast")

    def start_standby(self) -> None:
        _run("pg_ctlcluster", VERSION, self.standby, "start")
        self.wait_streaming()

    def set_synchronous_standby(self, on: bool) -> None:
        """What an operator (or a failover tool) does when the synchronous standby is gone for long."""
        names = STANDBY_NAME if on else ""
        self.psql(self.primary_port, f"ALTER SYSTEM SET synchronous_standby_names = '{names}'", database="postgres")
        self.psql(self.primary_port, "SELECT pg_reload_conf()", database="postgres")

    def pause_replay(self, paused: bool) -> None:
        call = "pg_wal_replay_pause()" if paused else "pg_wal_replay_resume()"
        self.psql(self.standby_port, f"SELECT {call}", database="postgres")

    # --- the portal's database on the primary ------------------------------------------

    def migrate(self) -> None:
        """The owner migrates and grants the runtime role what the code needs (docs/deploy.md)."""
        script = (
            "import django; django.setup(); from django.core.management import call_command; "
            "call_command('migrate', interactive=False, verbosity=0); "
            f"call_command('grant_app_role', {RUNTIME_ROLE!r})"
        )
        env = {**os.environ, "DATABASE_URL": self.url(self.primary_port, role=OWNER)}
        env.pop("REPLICA_DATABASE_URL", None)
        env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        _run(sys.executable, "-c", script, env=env, timeout=300)  # one process start, not two


@contextmanager
def pair(primary_port: int, standby_port: int, *, synchronous: bool = True, standby: bool = True) -> Iterator[Pair]:
    """A migrated primary (and, with `standby`, its streaming standby); both dropped at the end."""
    made = Pair(primary_port, standby_port, synchronous=synchronous)
    try:
        made.create_primary()
        # The standby's cluster is made (initdb) while the primary migrates; its data is copied after.
        initdb = threading.Thread(target=made._create, args=(made.standby, standby_port), kwargs={"primary": False})
        if standby:
            initdb.start()
        try:
            made.migrate()
        finally:
            if standby:
                initdb.join()
        if standby:
            made.create_standby(made=True)
        yield made
    finally:
        made.drop()
