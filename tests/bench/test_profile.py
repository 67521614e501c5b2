"""bench/profile.py's summary: a worker's samples count only while it handles a request."""

from bench.profile import summarise

WORKER = (
    'process 1:"gunicorn";SyncWorker.run (gunicorn/workers/sync.py:1);SyncWorker.accept (gunicorn/workers/sync.py:2)'
)
REQUEST = (
    WORKER + ";SyncWorker.handle (gunicorn/workers/sync.py:3);SyncWorker.handle_request (gunicorn/workers/sync.py:4)"
)


def test_a_workers_wait_for_the_next_connection_is_not_part_of_any_call(tmp_path):
    raw = tmp_path / "search.txt"
    raw.write_text(
        f"{REQUEST};decide (sharing/access/decision.py:10);Connection.wait (psycopg/connection.py:5) 30\n"
        f"{REQUEST};record_event (sharing/audit/actions.py:20) 10\n"
        f"{WORKER};accept (socket.py:6) 60\n"  # idle between requests (sampled with --wall)
    )
    text = summarise(raw, top=10)
    assert text.startswith("40 samples")
    assert "   75.0%  decision" in text and "   25.0%  audit record, committed" in text
    assert "accept (socket.py)" not in text


def test_samples_outside_any_worker_all_count(tmp_path):
    """The audit scenario samples this process's own loop: no request frames, every sample counts."""
    raw = tmp_path / "audit.txt"
    raw.write_text(
        "main (bench/profile.py:1);record_event (sharing/audit/actions.py:20) 7\nmain (bench/profile.py:1) 3\n"
    )
    text = summarise(raw, top=10)
    assert text.startswith("10 samples") and "   70.0%  audit record, committed" in text
