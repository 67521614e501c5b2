"""bench/compare.py's summary: each side's medians over its runs, the spread of p95, the change."""

from bench import compare
from bench.compare import summarise, table


def _row(scenario, p50, p95, p99, floor, ratio, rate=None):
    return {"scenario": scenario, "p50": p50, "p95": p95, "p99": p99, "floor": floor, "ratio": ratio, "rate": rate}


def test_each_side_is_the_median_of_its_runs_with_the_spread_of_p95():
    runs = {
        "before": [
            [_row("read", 6.0, 8.0, 9.0, 0.3, 26.7), _row("ingest", 900, 950, 950, 8000, 0.5, rate=4000)],
            [_row("read", 7.0, 9.0, 12.0, 0.3, 30.0), _row("ingest", 900, 950, 950, 8000, 0.4, rate=3000)],
            [_row("read", 5.0, 7.0, 8.0, 0.2, 35.0), _row("ingest", 900, 950, 950, 8000, 0.45, rate=5000)],
        ],
        "after": [
            [_row("read", 5.0, 6.0, 7.0, 0.3, 20.0), _row("ingest", 900, 950, 950, 8000, 0.6, rate=4800)],
            [_row("read", 4.0, 6.5, 8.0, 0.3, 21.7)],  # a run that lost a scenario counts for the others
        ],
    }
    read, ingest = summarise(runs)
    assert read["scenario"] == "read" and read["before"]["runs"] == 3 and read["after"]["runs"] == 2
    assert (read["before"]["p50"], read["before"]["p95"], read["before"]["p99"]) == (6.0, 8.0, 9.0)
    assert read["before"]["ratio"] == 30.0 and read["before"]["p95_range"] == (7.0, 9.0)
    assert (read["after"]["p50"], read["after"]["p95"], read["after"]["ratio"]) == (4.5, 6.25, 20.85)
    assert ingest["before"]["rate"] == 4000 and ingest["after"]["rate"] == 4800 and ingest["after"]["runs"] == 1

    text = table([read, ingest])
    read_line = "| read | 6.00 / 8.00 / 9.00 | 4.50 / 6.25 / 7.50 | 30.00 → 20.85 | 7.00–9.00; 6.00–6.50 | -21.9 % p95"
    assert read_line in text
    assert "| ingest | 4,000/s | 4,800/s |" in text and "+20.0 % rate" in text


def test_a_scenario_only_one_side_ran_shows_a_dash_for_the_other():
    [entry] = summarise({"before": [], "after": [[_row("new scenario", 1.0, 2.0, 3.0, 0.5, 4.0)]]})
    assert entry["before"]["runs"] == 0
    assert "| new scenario | – | 1.00 / 2.00 / 3.00 |" in table([entry])


def test_a_rate_printed_as_text_is_read_as_its_number():
    def run(rate):
        return [{"scenario": "verify_audit", "rate": rate}]

    runs = {"before": [run("25,648/s"), run("28,000/s")], "after": [run("30,100/s")]}
    [entry] = summarise(runs)
    assert entry["before"]["rate"] == 26824.0 and entry["after"]["rate"] == 30100.0
    assert "| verify_audit | 26,824/s | 30,100/s |" in table([entry])


def test_the_side_that_goes_first_changes_every_turn():
    assert [compare.sides_for(turn) for turn in (1, 2, 3, 4)] == [
        ("before", "after"),
        ("after", "before"),
        ("before", "after"),
        ("after", "before"),
    ]
