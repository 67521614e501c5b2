"""units.py: canonical units, conversions and case-insensitive matching."""

from __future__ import annotations

import pytest

from sharing.core.kinds import Kind
from sharing.measurements.units import CANONICAL_UNIT, UnitError, canonical_spelling, convert, is_dimensionless


def test_one_canonical_unit_per_kind_except_other() -> None:
    assert set(CANONICAL_UNIT) == set(Kind) - {Kind.OTHER}
    assert CANONICAL_UNIT[Kind.HEART_RATE] == "/min"
    assert CANONICAL_UNIT[Kind.BLOOD_PRESSURE] == "mm[Hg]"
    assert CANONICAL_UNIT[Kind.OXYGEN_SATURATION] == "%"
    assert CANONICAL_UNIT[Kind.BODY_TEMPERATURE] == "Cel"
    assert CANONICAL_UNIT[Kind.BODY_WEIGHT] == "kg"
    assert CANONICAL_UNIT[Kind.GLUCOSE] == "mmol/L"
    assert {CANONICAL_UNIT[k] for k in (Kind.CFS, Kind.NEWS2, Kind.QUESTIONNAIRE_SCORE, Kind.CONSCIOUSNESS)} == {""}


WEIGHT = {"allowed": ("kg", "g", "[lb_av]"), "canonical": "kg", "what": "body weight"}
TEMP = {"allowed": ("Cel", "[degF]"), "canonical": "Cel", "what": "body temperature"}


@pytest.mark.parametrize(
    ("value", "code", "expected"),
    [
        (49000, "g", 49.0),
        (1234.5678, "g", 1.2346),
        (150, "[lb_av]", 68.0389),
        (1, "[LB_AV]", 0.4536),
        (72.123456789, "kg", 72.123456789),
        (0, "g", 0.0),
    ],
)
def test_weight(value: float, code: str, expected: float) -> None:
    assert convert(value, code, **WEIGHT) == expected


@pytest.mark.parametrize(
    ("value", "code", "expected"),
    [(98.6, "[degF]", 37.0), (32, "[degf]", 0.0), (-40, "[degF]", -40.0), (36.55, "Cel", 36.55), (37, "CEL", 37)],
)
def test_temperature(value: float, code: str, expected: float) -> None:
    assert convert(value, code, **TEMP) == expected


def test_huge_but_finite_values_stay_finite() -> None:
    assert convert(1e308, "[degF]", **TEMP) < float("inf")


@pytest.mark.parametrize(
    ("sent", "spelled"),
    [
        ("mmol/l", "mmol/L"),
        ("MMOL/L", "mmol/L"),
        ("KG", "kg"),
        ("/MIN", "/min"),
        ("mm[hg]", "mm[Hg]"),
        (" % ", "%"),
        ("lb", None),
    ],
)
def test_canonical_spelling(sent: str, spelled: str | None) -> None:
    assert canonical_spelling(sent) == spelled


@pytest.mark.parametrize("code", ["", "1", "{score}", "{ScoreOf}", "score", "SCORE"])
def test_dimensionless(code: str) -> None:
    assert is_dimensionless(code)
    assert convert(3, code, allowed=(), canonical="", what="CFS score") == 3


@pytest.mark.parametrize("code", ["kg", "%", "{a}{b}", "points"])
def test_not_dimensionless(code: str) -> None:
    with pytest.raises(UnitError, match="no unit"):
        convert(3, code, allowed=(), canonical="", what="CFS score")


@pytest.mark.parametrize("code", ["lb", "mg", "", "kilogram", "mmol/L"])
def test_unknown_or_disallowed_unit_error_names_allowed_units(code: str) -> None:
    with pytest.raises(UnitError) as info:
        convert(1, code, **WEIGHT)
    message = str(info.value)
    assert "kg, g, [lb_av]" in message and "body weight" in message
    assert info.value.allowed == ("kg", "g", "[lb_av]")
