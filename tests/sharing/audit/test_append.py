"""The committed write on PostgreSQL: one round trip when the head is the one last seen, and the
same chain whatever the guess (sharing/audit/actions.py: _write_committed)."""

import os
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sharing.audit import actions, events
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent, AuditEventMunicipality
from sharing.audit.verify import verify_chain
from sharing.core.actor import Actor

from .helpers import audit_writes_fail

ALICE = Actor(sub="alice", name="Alice Auditor", orgnr_parent="311111019")
OSLO = "311111019"

pytestmark = pytest.mark.django_db(transaction=True)


def _record(n: int) -> AuditEvent:
    return record_event(event="test.append", outcome="success", by=ALICE, data={"n": n}, municipalities=[OSLO])


def _guess(value: str | None) -> None:
    name = actions.head_key()
    if value is None:
        actions._known_head.pop(name, None)
    else:
        actions._known_head[name] = value


def _intact(count: int) -> None:
    report = verify_chain()
    assert report.ok and report.checked == count
    times = list(AuditEvent.objects.order_by("id").values_list("occurred_at", flat=True))
    assert times == sorted(times)
    # Every record has its municipality row, written in the same statement.
    assert AuditEventMunicipality.objects.filter(municipality=OSLO).count() == count


def test_after_the_head_this_process_wrote_a_record_takes_one_round_trip():
    _guess(None)
    first = _record(0)
    with CaptureQueriesContext(connection) as queries:
        second = _record(1)
    assert len(queries) == 1
    assert "COMMIT" in queries[0]["sql"]
    assert second.prev_hash == first.hash
    stored = AuditEvent.objects.get(pk=second.pk)
    assert (stored.hash, stored.prev_hash, stored.occurred_at) == (second.hash, second.prev_hash, second.occurred_at)
    _intact(2)


def _from_another_process(n: int) -> AuditEvent:
    """A record written over another connection, and this process's guess left as it was."""
    name = actions.head_key()
    guess = actions._known_head.get(name)
    written: list[AuditEvent] = []

    def write() -> None:
        try:
            written.append(_record(n))
        finally:
            connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(timeout=30)
    _guess(guess)
    return written[0]


def test_a_record_after_another_writers_is_chained_on_theirs():
    first = _record(0)
    other = _from_another_process(1)
    assert other.prev_hash == first.hash
    with CaptureQueriesContext(connection) as queries:
        third = _record(2)
    assert len(queries) == 2  # the miss brings the head back; the second try appends
    assert third.prev_hash == other.hash
    _intact(3)


def test_a_guess_that_is_no_record_of_the_chain_inserts_nothing_and_the_record_still_follows_the_head():
    first = _record(0)
    _guess("f" * 64)
    second = _record(1)
    assert second.prev_hash == first.hash
    assert AuditEvent.objects.count() == 2
    _intact(2)


def test_the_first_record_follows_genesis_when_guessed_right_or_wrong():
    _guess(actions.GENESIS_HASH)
    first = _record(0)
    assert first.prev_hash == actions.GENESIS_HASH
    _intact(1)


def test_when_the_guesses_miss_the_locked_write_appends(monkeypatch):
    first = _record(0)
    monkeypatch.setattr(actions, "_GUESSES", 1)
    _guess("e" * 64)
    with CaptureQueriesContext(connection) as queries:
        second = _record(1)
    assert len(queries) == 3  # one miss, then the lock and the head, then the insert and COMMIT
    assert second.prev_hash == first.hash
    # The locked write leaves its hash as the next guess.
    with CaptureQueriesContext(connection) as queries:
        third = _record(2)
    assert len(queries) == 1 and third.prev_hash == second.hash
    _intact(3)


def test_without_a_guess_the_locked_write_appends_and_its_head_is_remembered():
    _record(0)
    _guess(None)
    with CaptureQueriesContext(connection) as queries:
        _record(1)
    assert len(queries) == 2
    with CaptureQueriesContext(connection) as queries:
        _record(2)
    assert len(queries) == 1
    _intact(3)


def test_with_synchronous_commit_for_a_standby_the_write_is_the_same(settings):
    settings.REPLICA_SYNCHRONOUS_COMMIT = "remote_apply"  # no standby named here: nothing to wait for
    first = _record(0)
    with CaptureQueriesContext(connection) as queries:
        second = _record(1)
    assert len(queries) == 1 and "synchronous_commit" in queries[0]["sql"]
    assert second.prev_hash == first.hash
    _intact(2)


def test_a_failed_write_leaves_no_transaction_open_and_forgets_the_guess():
    _record(0)
    with audit_writes_fail(), pytest.raises(actions.AuditUnavailable):
        _record(1)
    assert connection.connection.info.transaction_status == 0  # idle: rolled back
    assert actions.head_key() not in actions._known_head
    _record(2)
    _intact(2)


def test_a_record_the_database_refuses_mid_round_trip_leaves_no_transaction_open():
    # The statements go as one message: the server refuses the record (a purge checkpoint outside
    # the purge, by the table's trigger) after BEGIN and the lock.
    first = _record(0)
    with pytest.raises(actions.AuditUnavailable):
        record_event(event=events.AUDIT_PURGE, outcome="success", by=ALICE, municipalities=[OSLO])
    assert connection.connection.info.transaction_status == 0  # idle: rolled back, the lock let go
    assert AuditEvent.objects.count() == 1
    second = _record(1)
    assert second.prev_hash == first.hash
    _intact(2)


def test_inside_a_transaction_the_lock_and_the_record_take_one_round_trip():
    first = _record(0)
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            second = _record(1)
        executed = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
        assert len(executed) == 1 and "pg_advisory_xact_lock" in executed[0]
    assert second.prev_hash == first.hash
    _intact(2)


def test_inside_a_transaction_a_missed_guess_appends_on_the_head_under_the_lock_it_holds():
    _record(0)
    other = _from_another_process(1)
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            third = _record(2)
        executed = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
        assert len(executed) == 2  # the lock and the miss, then the insert
    assert third.prev_hash == other.hash
    _intact(3)


def _prepare_afresh() -> None:
    """Whether psycopg deallocated the record's prepared statement on a rollback depends on
    whether it had prepared statements of its own on the connection by then (earlier tests): a
    test that counts round trips after one starts from a statement not prepared either way."""
    statements = actions._prepared[connection.connection]
    statements.generation += 1
    statements.ready.clear()


def test_a_record_rolled_back_with_its_transaction_leaves_a_guess_that_misses_once():
    first = _record(0)
    with pytest.raises(RuntimeError), transaction.atomic():
        _record(1)
        raise RuntimeError("the caller's transaction fails")
    _prepare_afresh()
    with CaptureQueriesContext(connection) as queries:
        third = _record(2)
    assert len(queries) == 2
    assert third.prev_hash == first.hash
    _intact(2)


def test_the_records_statement_is_prepared_once_per_connection():
    _record(0)
    connection.close()  # the next record opens a new connection, where nothing is prepared
    with CaptureQueriesContext(connection) as queries:
        _record(1)
        _record(2)
    messages = [q["sql"] for q in queries]
    assert len(messages) == 2
    assert messages[0].startswith("PREPARE audit_append_") and "EXECUTE audit_append_" in messages[0]
    assert "PREPARE" not in messages[1] and "EXECUTE audit_append_" in messages[1]
    _intact(3)


def test_a_record_after_every_prepared_statement_is_deallocated_is_written_all_the_same():
    # As psycopg does after a rollback when it has prepared statements of its own.
    first = _record(0)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with CaptureQueriesContext(connection) as queries:
        second = _record(1)
    messages = [q["sql"] for q in queries]
    # The message that found the statement gone (nothing inserted), its ROLLBACK, the message again.
    assert len(messages) == 3 and messages[1] == "ROLLBACK" and messages[2].startswith("PREPARE")
    assert second.prev_hash == first.hash
    assert connection.connection.info.transaction_status == 0
    _intact(2)


def test_after_a_message_refused_with_its_statement_prepared_the_next_prepares_under_a_new_name():
    _record(0)
    connection.close()
    # The first message on the connection prepares the statement and is then refused (a purge
    # checkpoint outside the purge): the statement may exist, so the next must not prepare it again.
    with pytest.raises(actions.AuditUnavailable):
        record_event(event=events.AUDIT_PURGE, outcome="success", by=ALICE, municipalities=[OSLO])
    _record(1)  # the failure forgot the guess: the locked write, which prepares nothing
    with CaptureQueriesContext(connection) as queries:
        _record(2)
    (message,) = (q["sql"] for q in queries)
    assert message.startswith("PREPARE") and message.split()[1].endswith("_1")
    _intact(3)


def test_when_the_connection_is_lost_before_the_message_goes_again_it_goes_on_a_new_one(monkeypatch):
    first = _record(0)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")

    def lost(cursor: object) -> None:
        connection.close()  # as _roll_back does when the ROLLBACK finds the connection gone

    monkeypatch.setattr(actions, "_roll_back", lost)
    second = _record(1)
    assert second.prev_hash == first.hash
    _intact(2)


def test_with_prepared_statements_off_the_record_goes_inline(settings):
    settings.AUDIT_PREPARED_STATEMENT = False  # behind PgBouncer in transaction mode (docs/deploy.md)
    first = _record(0)
    with CaptureQueriesContext(connection) as queries:
        second = _record(1)
    (message,) = (q["sql"] for q in queries)
    assert "INSERT INTO audit_auditevent" in message and "PREPARE" not in message and "EXECUTE" not in message
    assert second.prev_hash == first.hash
    _intact(2)


def test_a_record_by_another_worker_on_this_host_is_guessed_right_the_first_time(monkeypatch):
    """The head is shared through a file (`_Heads`): another worker process, which has none of this
    one's memory (a fresh `_Heads`), leaves its head for this one, so no miss follows its record."""
    first = _record(0)
    written: list[AuditEvent] = []

    def write() -> None:
        try:
            written.append(_record(1))
        finally:
            connection.close()

    with monkeypatch.context() as other_worker:
        other_worker.setattr(actions, "_known_head", actions._Heads())
        thread = threading.Thread(target=write)
        thread.start()
        thread.join(timeout=30)
    assert written[0].prev_hash == first.hash
    with CaptureQueriesContext(connection) as queries:
        third = _record(2)
    assert len(queries) == 1 and third.prev_hash == written[0].hash
    _intact(3)


def test_a_hint_that_is_no_hash_is_no_guess_and_an_unsafe_folder_keeps_the_head_in_the_process(tmp_path, monkeypatch):
    heads = actions._Heads()
    heads["db"] = "a" * 64
    assert heads.get("db") == "a" * 64 and "db" in heads
    fd = heads._file("db")
    assert fd is not None
    os.pwrite(fd, b"z" * 64, 0)  # torn or tampered: not a hash
    assert heads.get("db", "none") == "none" and "db" not in heads
    assert heads.pop("db") is None and heads.get("db") == ""

    monkeypatch.setattr(actions.tempfile, "gettempdir", lambda: str(tmp_path))
    folder = tmp_path / f"maaledata-audit-head-{os.geteuid()}"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # others may write here: not trusted
    assert actions._open_hint("db") is None
    local = actions._Heads()
    local["db"] = "b" * 64
    assert local.get("db") == "b" * 64 and actions._Heads().get("db") == ""  # this process's own
    assert not list(folder.iterdir())
    local.pop("db")
    assert "db" not in local
