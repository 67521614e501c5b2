"""bench/audit.py: record_event and its floor timed in blocks taken in turns, and the database's own
part of a record (pgbench) reported beside it, against pgbench's own bare INSERT."""

from __future__ import annotations

from bench.audit import timed_in_blocks
from bench.scenarios import audit_rows

OUTPUT = """
Access log benchmark over 100,000 records (PostgreSQL 15.20)
scenario                                       p50 ms   p95 ms   p99 ms  target p95  met
floor: bare one-row INSERT + COMMIT              0.20     0.40     0.76           -  yes
record_event (one lookup, committed)             0.92     1.20     1.74   <= 1.5 ms  yes
search by patient, municipality auditor          2.94     3.48     3.70    <= 50 ms  yes
database alone: bare INSERT + COMMIT             0.09     0.15     0.33           -  yes
database alone: the record's statements          0.31     0.60     0.86           -  yes
verify_audit: 101,340 records in 5.4 s (18,687/s), intact
"""


def test_each_row_has_its_own_floor_and_the_database_alone_row_no_target():
    rows = {row["scenario"]: row for row in audit_rows(OUTPUT)}
    write = rows["audit: record_event (one lookup, committed)"]
    assert (write["key"], write["floor"], write["p95"]) == ("audit_write", 0.40, 1.20)
    alone = rows["audit: database alone: the record's statements (pgbench)"]
    assert (alone["floor"], alone["ratio"], alone["p50"]) == (0.15, 4.0, 0.31)
    assert "key" not in alone  # evidence, not a target: the table judges nothing on it
    assert rows["audit: search by patient, municipality auditor"]["key"] == "audit_search"
    assert not any("bare INSERT" in name for name in rows)  # the floors are columns, not rows
    assert rows["verify_audit over 101,340 records"]["rate"] == "18,687/s"


def test_blocks_take_turns_and_time_every_call():
    calls: list[tuple[str, int]] = []
    timed = timed_in_blocks(
        {"floor": lambda i: calls.append(("floor", i)), "write": lambda i: calls.append(("write", i))},
        n=40,
        blocks=4,
        warmup=2,
    )
    timed_calls = calls[4:]  # after two warm-up calls of each
    firsts = [timed_calls[block * 20][0] for block in range(4)]
    assert firsts == ["floor", "write", "floor", "write"]  # the side that goes first changes every block
    assert sum(1 for name, _ in timed_calls if name == "write") == 40
    assert set(timed) == {"floor", "write"} and all(stats["p50"] >= 0 for stats in timed.values())


def test_every_one_of_n_calls_is_timed_when_n_does_not_divide_into_blocks():
    calls: list[int] = []
    timed_in_blocks({"floor": calls.append, "write": lambda i: None}, n=45, blocks=10, warmup=0)
    assert calls == list(range(45))
    calls.clear()
    timed_in_blocks({"floor": calls.append, "write": lambda i: None}, n=3, blocks=10, warmup=0)
    assert calls == [0, 1, 2]
