"""The one way to write an audit record, and the auditors' own audited actions.

Records form a hash chain: each carries the hash of the one before, so an altered, removed or
inserted row breaks the chain and `verify_audit` finds it. The hashes are HMACs with
AUDIT_CHAIN_KEY, so someone who can write to the database but does not hold the key cannot forge
a chain that verifies. Writers are serialised by a transaction-scoped advisory lock on PostgreSQL
(SQLite allows one writer at a time anyway), and a unique constraint on `prev_hash` makes a fork
impossible even if two writers raced past the lock.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import os
import re
import stat
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, ProgrammingError, connection, transaction
from django.db.models import Min
from django.utils import timezone

from sharing.core import replica
from sharing.core.actor import Actor
from sharing.core.claims import ClaimRefused, OneTimeClaim

from . import events
from .models import AuditEvent, AuditEventMunicipality, AuditPurge
from .review import ReviewItem
from .scope import AuditScope

P = ParamSpec("P")

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the audit chain's advisory lock.
_CHAIN_LOCK_ID = 0x4155444954
# Public for the one other writer of the chain: the development data generator's bulk path
# (devdata.generate.load_audit_history), which takes the same lock and computes the same hashes.
CHAIN_LOCK_ID = _CHAIN_LOCK_ID


class AuditUnavailable(DatabaseError):
    """The audit record could not be written, so nothing it would have recorded may be shown.

    Raised by `record_event` itself; a DatabaseError still, so code that treats any database
    failure as "withhold" keeps doing so.
    """


CHAINED_FIELDS = (
    "occurred_at",
    "event",
    "outcome",
    "actor_sub",
    "actor_pid",
    "actor_hpr",
    "actor_name",
    "actor_role",
    "org_parent",
    "org_parent_name",
    "org_child",
    "org_child_name",
    "patient_system",
    "patient_value",
    "data",
    "basis",
    "reason",
    "client_id",
    "request_id",
    "prev_hash",
)
# Chained too, but only when not empty, so records written before the field existed still verify.
OPTIONAL_CHAINED_FIELDS = ("municipalities",)


def chain_key() -> bytes:
    """AUDIT_CHAIN_KEY: never empty (settings generate one outside production)."""
    key = settings.AUDIT_CHAIN_KEY
    if not key:
        raise ImproperlyConfigured("AUDIT_CHAIN_KEY is empty: the audit chain is always keyed.")
    return str(key).encode()


def _payload(values: Mapping[str, Any]) -> bytes:
    canonical = {name: values[name] for name in CHAINED_FIELDS}
    canonical.update({name: values[name] for name in OPTIONAL_CHAINED_FIELDS if values.get(name)})
    canonical["occurred_at"] = values["occurred_at"].astimezone(dt.UTC).isoformat()
    return json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(values: Mapping[str, Any]) -> str:
    """The HMAC-SHA256 (with AUDIT_CHAIN_KEY) of one record's content and its predecessor's hash."""
    return hmac.new(chain_key(), _payload(values), hashlib.sha256).hexdigest()


def unkeyed_hash(values: Mapping[str, Any]) -> str:
    """A plain SHA-256 of the same content: what someone without the key would compute (verify names it)."""
    return hashlib.sha256(_payload(values)).hexdigest()


def _orgnrs(value: object) -> set[str]:
    items = value if isinstance(value, list) else [value]
    return {item for item in items if isinstance(item, str) and len(item) == 9 and item.isdigit()}


def municipalities_of(data: Mapping[str, Any]) -> list[str]:
    """The municipalities an event is about, when the caller did not say.

    From the data: `municipalities` (list), `municipality` or `controller` (an orgnr), also inside
    `after`/`before` snapshots of a change. The log does not look up who holds data on a patient:
    a patient read passes its municipalities in (the access layer knows them).
    """
    found: set[str] = set()
    for source in (data, data.get("after"), data.get("before")):
        if isinstance(source, Mapping):
            for key in ("municipalities", "municipality", "controller"):
                found |= _orgnrs(source.get(key))
    return sorted(found)


def _fit(values: dict[str, Any]) -> None:
    """Cut text to its column's length: an over-long header value must not stop the record."""
    for field in AuditEvent._meta.concrete_fields:
        limit = getattr(field, "max_length", None)
        value = values.get(field.name)
        if limit and isinstance(value, str) and len(value) > limit:
            values[field.name] = value[:limit]


_LOCK_SQL = f"SELECT pg_advisory_xact_lock({_CHAIN_LOCK_ID});"


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_SQL)


def _lock_and_read_head() -> str:
    """Take the chain's lock and read the last record's hash: one round trip on PostgreSQL.

    Two statements in one message: under READ COMMITTED the read takes its snapshot after the
    lock is held, so it sees every record that writers holding the lock before us committed.
    """
    read = f"SELECT hash FROM {AuditEvent._meta.db_table} ORDER BY id DESC LIMIT 1"  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"{_LOCK_SQL} {read}")
            cursor.nextset()
        else:
            cursor.execute(read)
        row = cursor.fetchone()
    return str(row[0]) if row else GENESIS_HASH


_STORED = (*CHAINED_FIELDS, *OPTIONAL_CHAINED_FIELDS, "hash")


@functools.cache
def _insert_sql() -> str:
    """PostgreSQL: the record and its municipality index rows in one statement (the hot path)."""
    fields = {field.name: field.column for field in AuditEvent._meta.concrete_fields}
    columns = ", ".join(fields[name] for name in _STORED)
    values = ", ".join("%s::jsonb" if name == "data" else "%s" for name in _STORED)
    return (
        f"WITH e AS (INSERT INTO {AuditEvent._meta.db_table} ({columns}) VALUES ({values}) "  # noqa: S608
        "RETURNING id, occurred_at), "
        f"m AS (INSERT INTO {AuditEventMunicipality._meta.db_table} (event_id, municipality, occurred_at) "
        "SELECT e.id, about.orgnr, e.occurred_at FROM e, unnest(%s::varchar[]) AS about(orgnr)) "
        "SELECT id FROM e"
    )


@functools.cache
def _append_sql(claim: tuple[str, str, str] | None = None) -> str:
    """PostgreSQL: the record and its municipality rows, inserted only if the chain's head is still
    the record's prev_hash (given again as the guard's parameter); returns the new id (None when
    nothing was inserted), the head found and whether the claim was made. Each value is cast to
    its column's type, as a SELECT's literals have none of their own.

    With `claim` (table, key column, time column; sharing/core/claims.py): its value is inserted
    first, the record only if that inserted a row (a value used before: nothing is inserted).
    """
    fields = {field.name: field for field in AuditEvent._meta.concrete_fields}
    table = AuditEvent._meta.db_table
    columns = ", ".join(fields[name].column for name in _STORED)
    values = ", ".join(f"%s::{fields[name].db_type(connection)}" for name in _STORED)
    claimed, made = "", "true"
    if claim is not None:
        quote = connection.ops.quote_name
        into, key, seen = (quote(name) for name in claim)
        claimed = (
            f"c AS (INSERT INTO {into} ({key}, {seen}) VALUES (%s, %s) ON CONFLICT ({key}) DO NOTHING RETURNING 1), "  # noqa: S608 - the claiming module's own names, quoted
        )
        made = "EXISTS (SELECT FROM c)"
    return (
        f"WITH {claimed}h AS (SELECT hash FROM {table} ORDER BY id DESC LIMIT 1), "  # noqa: S608
        f"e AS (INSERT INTO {table} ({columns}) SELECT {values} "
        f"WHERE coalesce((SELECT hash FROM h), '{GENESIS_HASH}') = %s AND {made} RETURNING id, occurred_at), "
        f"m AS (INSERT INTO {AuditEventMunicipality._meta.db_table} (event_id, municipality, occurred_at) "
        "SELECT e.id, about.orgnr, e.occurred_at FROM e, unnest(%s::varchar[]) AS about(orgnr)) "
        f"SELECT (SELECT id FROM e), (SELECT hash FROM h), {made}"
    )


def _insert(values: dict[str, Any], about: list[str], *, commit: bool = False) -> AuditEvent:
    """Insert the chained record; with `commit` (PostgreSQL, `_write_locked`'s open
    transaction) the COMMIT goes in the same message."""
    if connection.vendor != "postgresql":
        record = AuditEvent.objects.create(**values)
        AuditEventMunicipality.objects.bulk_create(
            AuditEventMunicipality(event=record, municipality=orgnr, occurred_at=record.occurred_at) for orgnr in about
        )
        return record
    params = [json.dumps(values[name]) if name == "data" else values[name] for name in _STORED]
    with connection.cursor() as cursor:
        cursor.execute(f"{_insert_sql()}; COMMIT" if commit else _insert_sql(), [*params, about])
        (pk,) = cursor.fetchone()
    return _stored(values, pk)


def _stored(values: dict[str, Any], pk: int) -> AuditEvent:
    stored = {**values, "id": pk}
    fields = [field.attname for field in AuditEvent._meta.concrete_fields]
    return AuditEvent.from_db(connection.alias, fields, [stored[name] for name in fields])


def _record_values(
    *,
    event: str,
    outcome: str,
    by: Actor | None,
    patient_system: str,
    patient_value: str,
    data: Mapping[str, Any] | None,
    basis: str,
    reason: str,
    municipalities: Iterable[str] | None,
) -> tuple[dict[str, Any], list[str]]:
    """A record's content (without its place in the chain) and the municipalities it is about."""
    actor = by or Actor()
    # Round-trip through JSON so the hash sees exactly what the database will store.
    stored_data = json.loads(json.dumps(dict(data or {}), default=str))
    if municipalities is not None:
        about = sorted(set(municipalities) - {""})
    else:
        about = municipalities_of(stored_data)
    values: dict[str, Any] = {
        "event": event,
        "outcome": outcome,
        "actor_sub": actor.sub,
        "actor_pid": actor.pid,
        "actor_hpr": actor.hpr_number,
        "actor_name": actor.name,
        "actor_role": actor.role_label,
        "org_parent": actor.orgnr_parent,
        "org_parent_name": actor.org_parent_name,
        "org_child": actor.orgnr_child,
        "org_child_name": actor.org_child_name,
        "patient_system": patient_system,
        "patient_value": patient_value,
        "data": stored_data,
        "basis": basis,
        "reason": reason,
        "client_id": actor.client_id,
        "request_id": actor.request_id,
        "municipalities": " ".join(about),
    }
    _fit(values)
    return values, about


def _chain(values: dict[str, Any]) -> None:
    """Give the record its place at the head of the chain: call holding the chain's lock (taken here)."""
    values["prev_hash"] = _lock_and_read_head()
    # Taken under the lock, so the chain's order is also the order in time.
    values["occurred_at"] = timezone.now()
    values["hash"] = compute_hash(values)


def _unavailable_when_not_written(write: Callable[P, AuditEvent]) -> Callable[P, AuditEvent]:
    """The audit write raises AuditUnavailable itself when the database refuses the record, so
    every reader withholds its data the same way (fail closed), whoever calls."""

    @functools.wraps(write)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> AuditEvent:
        try:
            return write(*args, **kwargs)
        except AuditUnavailable:
            raise
        except DatabaseError as exc:
            raise AuditUnavailable(f"audit record {kwargs.get('event')!r} not written") from exc

    return guarded


@_unavailable_when_not_written
def record_event(
    *,
    event: str,
    outcome: str,
    by: Actor | None,
    patient_system: str = "",
    patient_value: str = "",
    data: Mapping[str, Any] | None = None,
    basis: str = "",
    reason: str = "",
    municipalities: Iterable[str] | None = None,
    savepoint: bool = True,
) -> AuditEvent:
    """Append one record and commit it before returning (unless the caller holds a transaction).

    `municipalities`: the data controllers the event is about, which decides which municipality
    auditors see it; derived from `data` (see `municipalities_of`) when not given.
    `savepoint`: inside the caller's transaction, the record's own savepoint (two round trips);
    False when the caller lets a failed record roll its whole transaction back (the door's lookup).
    """
    values, about = _record_values(
        event=event,
        outcome=outcome,
        by=by,
        patient_system=patient_system,
        patient_value=patient_value,
        data=data,
        basis=basis,
        reason=reason,
        municipalities=municipalities,
    )
    if connection.vendor == "postgresql" and connection.get_autocommit() and not connection.in_atomic_block:
        return _write_committed(values, about, _claim_of(by))
    with transaction.atomic(savepoint=savepoint):
        if connection.vendor == "postgresql":
            return _write_in_transaction(values, about, _claim_of(by))
        _chain(values)
        return _insert(values, about)


_HASH = re.compile(r"[0-9a-f]{64}")


class _Heads:
    """The chain's head as the last writer on this host saw it, by database: a guess for the next
    append, which the database checks (`_append_sql`). Never trusted: a wrong guess costs one more
    round trip, and nothing else.

    Kept in a small file per database (64 bytes at its start, in a directory of this user's own
    under the temporary directory) so that every worker process of the host guesses the head the
    others wrote: with one head per process, a record after another worker's missed once (a round
    trip more for one record in seven with two workers, more with more). Read and written with
    `pread`/`pwrite`, no lock: a torn or stale value is only a miss. Where the file cannot be had
    (a read-only file system, a directory someone else owns), the head is this process's own.
    """

    def __init__(self) -> None:
        self._own: dict[str, str] = {}
        self._files: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def _file(self, key: str) -> int | None:
        if key in self._files:
            return self._files[key]
        with self._lock:
            if key not in self._files:
                self._files[key] = _open_hint(key)
        return self._files[key]

    def get(self, key: str, default: str = "") -> str:
        fd = self._file(key)
        if fd is not None:
            try:
                text = os.pread(fd, 64, 0).decode("ascii")
            except (OSError, UnicodeDecodeError):
                text = ""
            if _HASH.fullmatch(text):
                return text
            return default
        return self._own.get(key, default)

    def __contains__(self, key: str) -> bool:
        return bool(self.get(key))

    def __setitem__(self, key: str, head: str) -> None:
        self._write(key, head)

    def pop(self, key: str, default: str | None = None) -> str | None:
        head = self.get(key) or default
        self._write(key, "")
        return head

    def _write(self, key: str, head: str) -> None:
        fd = self._file(key)
        if fd is None:
            if head:
                self._own[key] = head
            else:
                self._own.pop(key, None)
            return
        try:
            os.pwrite(fd, head.encode("ascii").ljust(64, b" "), 0)
        except OSError:
            pass  # only a guess: the next append finds the head itself


def _open_hint(key: str) -> int | None:
    """This user's hint file for database `key`, opened for reading and writing, or None."""
    folder = Path(tempfile.gettempdir()) / f"maaledata-audit-head-{os.geteuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        own = folder.lstat()
        if not stat.S_ISDIR(own.st_mode) or own.st_uid != os.geteuid() or own.st_mode & 0o077:
            return None  # not a directory of this user's alone: guess per process
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        fd = os.open(folder / name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    os.set_inheritable(fd, False)
    return fd


_known_head = _Heads()


def head_key() -> str:
    """Which chain the head is of: the database, by server and name (two clusters on one host may
    hold databases of the same name)."""
    settings_dict = connection.settings_dict
    return f"{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"


# Guesses before the locked two-round-trip write; each miss brings the head back with it, so a
# second miss means another writer appended in between, and under such contention the lock queues.
_GUESSES = 2


class _Statements:
    """The append statements prepared on one connection (`_guess`). A message that fails may or
    may not have prepared its statement, so the generation moves on and the next message prepares
    under a new name, which cannot exist already."""

    def __init__(self) -> None:
        self.generation = 0
        self.ready: set[str] = set()

    def message(self, claim: tuple[str, str, str] | None) -> tuple[str, str]:
        """What a message sends for the record: the PREPARE (the first time on this connection and
        generation, else nothing) and the EXECUTE of the statement with its parameters."""
        base, numbered, arguments = _append_statement(claim)
        name = f"{base}_{self.generation}"
        prepare = "" if name in self.ready else f"PREPARE {name} AS {numbered}; "
        self.ready.add(name)  # taken back by `failed` if the message fails
        return prepare, f"EXECUTE {name}{arguments}"

    def failed(self) -> None:
        self.generation += 1
        self.ready.clear()


# By psycopg connection: a new connection (Django reconnects after a failure) starts with none.
_prepared: weakref.WeakKeyDictionary[Any, _Statements] = weakref.WeakKeyDictionary()
# PostgreSQL's "prepared statement ... does not exist".
_NO_SUCH_STATEMENT = "26000"
# How the prepared statement's name begins: a message that EXECUTEs it writes a record.
RECORD_STATEMENT_PREFIX = "audit_append_"


@functools.cache
def _append_statement(claim: tuple[str, str, str] | None) -> tuple[str, str, str]:
    """`_append_sql` as a statement to PREPARE ($1, $2, ... for its parameters), a name that
    changes with its text, and the EXECUTE's list of parameters (`(%s, %s, ...)`)."""
    parts = [part.replace("%", "%%") for part in _append_sql(claim).split("%s")]
    numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
    name = f"{RECORD_STATEMENT_PREFIX}{hashlib.sha256(numbered.encode()).hexdigest()[:16]}"
    return name, numbered, f"({', '.join(['%s'] * (len(parts) - 1))})"


def _guess(
    values: dict[str, Any],
    about: list[str],
    expected: str,
    before: str,
    after: str,
    claim: OneTimeClaim | None,
    *,
    prepared: bool = False,
) -> tuple[int | None, str, bool]:
    """Send the record hashed on `expected` as the head, inside `before` and `after` (statements in
    the same message), with `claim` if any; (its id, or None when the head was another or the claim
    was refused, the head found, and whether the claim was made).

    `prepared` (the committed write only, see `_send_committed`): the record's statement is
    prepared on the connection with the first message that sends it, and each record EXECUTEs
    it, so the server parses and plans it once, not once per record.

    The time is taken here, after the head guessed was committed (the guess is the last head this
    process wrote or was told), so if the guess holds, the chain's order is still the order in time.
    """
    values["prev_hash"] = expected
    values["occurred_at"] = timezone.now()
    values["hash"] = compute_hash(values)
    params: list[Any] = [claim.value, claim.at] if claim else []
    params += [json.dumps(values[name]) if name == "data" else values[name] for name in _STORED]
    params += [expected, about]
    claimed = (claim.table, claim.key, claim.seen) if claim else None
    statements: _Statements | None = None
    if prepared:
        connection.ensure_connection()  # after a lost connection's ROLLBACK closed it, a new one
        statements = _prepared.setdefault(connection.connection, _Statements())
        prepare, sql = statements.message(claimed)
    else:
        prepare, sql = "", _append_sql(claimed)
    with connection.cursor() as cursor:
        try:
            cursor.execute(f"{prepare}{before} {sql}{after}", params)
        except BaseException:
            if statements is not None:
                statements.failed()
            raise
        for _statement in range(before.count(";") + (1 if prepare else 0)):
            cursor.nextset()
        pk, head, made = cursor.fetchone()
    return pk, str(head) if head else GENESIS_HASH, bool(made)


def _send_committed(
    values: dict[str, Any], about: list[str], expected: str, sync: str, claim: OneTimeClaim | None
) -> tuple[int | None, str, bool]:
    """The committed write's message (`_guess`): BEGIN, the lock, the record, COMMIT; the record's
    statement prepared unless AUDIT_PREPARED_STATEMENT is off.

    psycopg deallocates every prepared statement of a connection (its own and this one) after a
    rollback on it; the message that finds the statement gone fails as a whole, inserting nothing,
    and is sent once more with the statement prepared again.
    """
    message = (values, about, expected, f"BEGIN; {sync} {_LOCK_SQL}", "; COMMIT", claim)
    if not settings.AUDIT_PREPARED_STATEMENT:  # behind PgBouncer in transaction mode (docs/deploy.md)
        return _guess(*message)
    try:
        return _guess(*message, prepared=True)
    except DatabaseError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _NO_SUCH_STATEMENT:
            raise
    with connection.cursor() as cursor:
        _roll_back(cursor)
    return _guess(*message, prepared=True)


def _claim_of(by: Actor | None) -> OneTimeClaim | None:
    """The actor's one-time claim still to record (sharing/core/claims.py), on PostgreSQL."""
    claim = by.claim if by is not None else None
    return claim if claim is not None and not claim.claimed else None


def _refused(claim: OneTimeClaim) -> ClaimRefused:
    return ClaimRefused(f"{claim.key} used before: nothing recorded, nothing handed out")


def _write_committed(values: dict[str, Any], about: list[str], claim: OneTimeClaim | None = None) -> AuditEvent:
    """PostgreSQL, outside any transaction: the record committed, in one round trip when the
    chain's head is the one this process last saw.

    One message opens the transaction, takes the chain's lock, inserts the record (and its
    municipality rows) only if the head is still the one its hash was made on, and commits. If
    another writer appended in between, nothing is inserted, the head comes back, and the record
    is hashed on it and sent again (`_guess`). The hash is made here: the chain key never goes to
    the database. After `_GUESSES` misses: the locked write (`_write_locked`), which leaves the
    claim to its owner. A claim refused raises ClaimRefused, with nothing inserted.
    """
    key = head_key()
    expected = _known_head.get(key, "")
    sync = replica.synchronous_commit_sql()  # with a standby: on it when the commit returns
    for _ in range(_GUESSES if expected else 0):
        try:
            pk, head, made = _send_committed(values, about, expected, sync, claim)
        except BaseException:
            _known_head.pop(key, None)
            with connection.cursor() as cursor:
                _roll_back(cursor)
            raise
        if claim is not None:
            if not made:
                raise _refused(claim)
            claim.claimed, claim = True, None  # committed with the message, record or not
        if pk is not None:
            _known_head[key] = values["hash"]
            return _stored(values, pk)
        expected = head
    record = _write_locked(values, about, sync)
    _known_head[key] = record.hash
    return record


def _write_in_transaction(values: dict[str, Any], about: list[str], claim: OneTimeClaim | None = None) -> AuditEvent:
    """PostgreSQL, inside the caller's transaction: the chain's lock and the record in one round
    trip when the guess of the head holds (`_guess`). Otherwise the head came back and the lock is
    held until the caller's transaction ends, so the record follows that head with no second guess.
    A claim is marked made when the caller's transaction commits; refused, it raises ClaimRefused.
    """
    key = head_key()
    sync = replica.synchronous_commit_sql()  # with a standby: the record is on it when the commit returns
    pk, head, made = _guess(values, about, _known_head.get(key, GENESIS_HASH), f"{sync} {_LOCK_SQL}", "", claim)
    if claim is not None:
        if not made:
            raise _refused(claim)
        transaction.on_commit(functools.partial(setattr, claim, "claimed", True))
    if pk is not None:
        record = _stored(values, pk)
    else:
        values["prev_hash"] = head
        values["occurred_at"] = timezone.now()  # under the lock: the chain's order is the order in time
        values["hash"] = compute_hash(values)
        record = _insert(values, about)
    # Not yet committed: if the caller rolls back, the next guess misses once and learns the head.
    _known_head[key] = record.hash
    return record


def _write_locked(values: dict[str, Any], about: list[str], sync: str) -> AuditEvent:
    """The record in two round trips, committed: the first opens the transaction, takes the
    chain's lock and reads the head; the second inserts the record with its municipality rows and
    commits. Any failure rolls the transaction back before it is raised.
    """
    head = f"SELECT hash FROM {AuditEvent._meta.db_table} ORDER BY id DESC LIMIT 1"  # noqa: S608
    with connection.cursor() as cursor:
        try:
            cursor.execute(f"BEGIN; {sync} {_LOCK_SQL} {head}")
            for _ in range(3 if sync else 2):
                cursor.nextset()
            row = cursor.fetchone()
            values["prev_hash"] = str(row[0]) if row else GENESIS_HASH
            values["occurred_at"] = timezone.now()  # under the lock: the chain's order is the order in time
            values["hash"] = compute_hash(values)
            return _insert(values, about, commit=True)
        except BaseException:
            _roll_back(cursor)
            raise


def _roll_back(cursor: Any) -> None:
    """End the transaction `_write_committed` or `_write_locked` opened, whatever state the failure left it in."""
    try:
        cursor.execute("ROLLBACK")
    except DatabaseError:  # the connection itself is gone: nothing is left open on it
        connection.close()


def mark_reviewed(
    *, item_key: str, rule: str, comment: str, event_ids: list[int], municipalities: Iterable[str], by: Actor
) -> AuditEvent:
    """An auditor marks a review-queue item reviewed, with a comment; the mark is itself a log record."""
    return record_event(
        event=events.AUDIT_REVIEW,
        outcome="success",
        by=by,
        data={"item": item_key, "rule": rule, "events": event_ids},
        reason=comment,
        municipalities=municipalities,
    )


def mark_many_reviewed(*, items: Sequence[ReviewItem], scope: AuditScope, comment: str, by: Actor) -> list[AuditEvent]:
    """Sign off several queue items with one comment (the worklist's bulk sign-off, issue 22).

    One record per item, as `mark_reviewed` writes it (its key, rule and events, so each item is
    reviewed on its own terms), all written in one transaction: all of them or none. When there
    is more than one, each also names the batch (an id and its size) so the log shows they were
    signed off together."""
    batch = {"batch": uuid.uuid4().hex, "batch_size": len(items)} if len(items) > 1 else {}
    with transaction.atomic():
        return [
            record_event(
                event=events.AUDIT_REVIEW,
                outcome="success",
                by=by,
                data={"item": item.key, "rule": str(item.rule), "events": list(item.event_ids), **batch},
                reason=comment,
                municipalities=scope.within(list(item.municipalities)),
            )
            for item in items
        ]


def retention_cutoff(now: dt.datetime) -> dt.datetime:
    """Records from before this moment are past retention (AUDIT_RETENTION_YEARS, in local time)."""
    local = timezone.localtime(now)
    year = local.year - settings.AUDIT_RETENTION_YEARS
    try:
        return local.replace(year=year)
    except ValueError:  # 29 February
        return local.replace(year=year, day=28)


@dataclass(frozen=True)
class PurgeResult:
    cutoff: dt.datetime
    removed: int
    checkpoint: AuditEvent | None  # the record that says what was removed; None when nothing was


_INSUFFICIENT_PRIVILEGE = "42501"


class PurgeRefused(Exception):
    """The database refused the purge: the connection's role may not run `audit_purge()`."""


def purge_expired(*, by: Actor, now: dt.datetime | None = None) -> PurgeResult:
    """Remove the records past retention, through a checkpoint record that says so.

    Removes the oldest records up to the first one still within retention. The checkpoint
    (event `audit.purge`) carries the id and hash of the last removed record, so the chain still
    verifies from it. On PostgreSQL this builds the checkpoint (its HMAC needs the chain key, which
    the database never sees) and hands it to the owner's function `audit_purge()`, which checks it,
    inserts it, notes the purge in its ledger and deletes; only that function can delete, and only
    the owner may run it (PurgeRefused otherwise). One transaction, holding the chain's lock.
    """
    cutoff = retention_cutoff(now or timezone.now())
    _may_purge()
    with transaction.atomic():
        replica.synchronous_commit()
        _lock_chain()
        first_kept = AuditEvent.objects.filter(occurred_at__gte=cutoff).aggregate(first=Min("id"))["first"]
        expired = AuditEvent.objects.all() if first_kept is None else AuditEvent.objects.filter(id__lt=first_kept)
        last = expired.order_by("-id").values("id", "hash", "occurred_at").first()
        if last is None:
            return PurgeResult(cutoff, 0, None)
        count = expired.count()
        values, _about = _record_values(
            event=events.AUDIT_PURGE,
            outcome="success",
            by=by,
            patient_system="",
            patient_value="",
            data={
                "through_id": last["id"],
                "through_hash": last["hash"],
                "through_occurred_at": last["occurred_at"].isoformat(),
                "cutoff": cutoff.isoformat(),
                "retention_years": settings.AUDIT_RETENTION_YEARS,
                "count": count,
            },
            basis="",
            reason="",
            municipalities=[],
        )
        _chain(values)
        if connection.vendor == "postgresql":
            checkpoint_id, removed = _purge_in_database(values)
            checkpoint = AuditEvent.objects.get(pk=checkpoint_id)
        else:
            checkpoint, removed = _purge_here(values, cutoff)
    return PurgeResult(cutoff, removed, checkpoint)


def _may_purge() -> None:
    """Refuse up front, even with nothing to remove, when this login may not run audit_purge()."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, has_function_privilege('audit_purge(jsonb)', 'EXECUTE')")
        role, allowed = cursor.fetchone()
    if not allowed:
        raise PurgeRefused(f"permission denied for function audit_purge: role {role} may not purge")


def _purge_in_database(checkpoint: dict[str, Any]) -> tuple[int, int]:
    record = {**checkpoint, "occurred_at": checkpoint["occurred_at"].isoformat()}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT checkpoint_id, removed FROM audit_purge(%s::jsonb)", [json.dumps(record)])
            checkpoint_id, removed = cursor.fetchone()
    except ProgrammingError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == _INSUFFICIENT_PRIVILEGE:  # not the owner
            raise PurgeRefused(str(exc).strip()) from exc
        raise
    return int(checkpoint_id), int(removed)


def _purge_here(values: dict[str, Any], cutoff: dt.datetime) -> tuple[AuditEvent, int]:
    """SQLite (the `make run` demo, which has no roles): the checkpoint, the ledger row, the delete."""
    checkpoint = _insert(values, [])
    data = values["data"]
    AuditPurge.objects.create(
        checkpoint_id=checkpoint.pk,
        checkpoint_hash=checkpoint.hash,
        through_id=data["through_id"],
        through_hash=data["through_hash"],
        count=data["count"],
        cutoff=cutoff,
        purged_at=timezone.now(),
        purged_by="",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {AuditEventMunicipality._meta.db_table} WHERE event_id <= %s",  # noqa: S608 - table name from the model
            [data["through_id"]],
        )
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id <= %s", [data["through_id"]])  # noqa: S608
        removed = cursor.rowcount
    return checkpoint, removed
