"""Tests for sharing.identifiers (domain.md §4).

No database and no Django settings: lazy messages are never rendered, only the
error ``code`` is compared. The property tests build numbers with their own
control-digit code (``_with_control_digits``) and check them against their own
reference validator (``_reference_is_valid``), both written in the
"weighted sum including the check digit" form rather than the module's form.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sharing.identifiers import (
    PATIENT_SYSTEMS,
    SYSTEM_DNR,
    SYSTEM_FHN,
    SYSTEM_FNR,
    SYSTEM_HPR,
    SYSTEM_ORGNR,
    SYSTEM_RESH,
    IdKind,
    InvalidIdentifier,
    NationalId,
    age_on,
    is_valid_national_id,
    is_valid_orgnr,
    national_id_for_system,
    parse_national_id,
    parse_orgnr,
)

# ---------------------------------------------------------------------------
# Independent reference implementation (test side only)
# ---------------------------------------------------------------------------

# Weights including the check digit itself (weight 1): a number is valid when
# the weighted sum is 0 mod 11 (k2), or in {0, 1, 2, 3} mod 11 (k1, 2032 rule).
K1_FULL = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
K2_FULL = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
ORGNR_FULL = (3, 2, 7, 6, 5, 4, 3, 2, 1)


def _dot(weights: tuple[int, ...], digits: str) -> int:
    return sum(w * int(c) for w, c in zip(weights, digits, strict=True))


def _with_control_digits(nine: str, k1_remainder: int = 0) -> str | None:
    """Append k1 and k2 so that (s1 + k1) % 11 == k1_remainder; None if impossible."""
    k1 = (k1_remainder - _dot(K1_FULL[:9], nine)) % 11
    if k1 == 10:
        return None
    ten = nine + str(k1)
    k2 = -_dot(K2_FULL[:10], ten) % 11
    if k2 == 10:
        return None
    return ten + str(k2)


def _orgnr_with_control_digit(eight: str) -> str | None:
    k = -_dot(ORGNR_FULL[:8], eight) % 11
    return None if k == 10 else eight + str(k)


def _reference_year(yy: int, individual: int) -> int | None:
    if 0 <= individual <= 499:
        return 1900 + yy
    if 500 <= individual <= 749 and 54 <= yy:
        return 1800 + yy
    if 900 <= individual <= 999 and 40 <= yy:
        return 1900 + yy
    if 500 <= individual <= 999 and yy < 40:
        return 2000 + yy
    return None


def _reference_is_valid(digits: str) -> bool:
    """Reference validity of an already-normalised string."""
    if len(digits) != 11 or not all(c in "0123456789" for c in digits):
        return False
    r1 = _dot(K1_FULL, digits[:10]) % 11
    r2 = _dot(K2_FULL, digits) % 11
    legacy = r1 == 0 and r2 == 0
    if digits[0] in "89":  # FHN: no date, current rule only
        return legacy
    if not (r1 in (0, 1, 2, 3) and r2 == 0):
        return False
    day, month = int(digits[:2]), int(digits[2:4])
    d_number = day > 40
    if d_number:
        day -= 40
    for offset in (0, 40, 80):
        if offset < month <= offset + 12:
            month -= offset
            break
    else:
        return False
    if d_number and offset == 40:
        return False
    year = _reference_year(int(digits[4:6]), int(digits[6:9])) if legacy else None
    try:
        date(2000 if year is None else year, month, day)
    except ValueError:
        return False
    return True


def _normalise(text: str) -> str:
    return re.sub(r"[\s.]", "", text)


def _code(value: str) -> str:
    with pytest.raises(InvalidIdentifier) as info:
        parse_national_id(value)
    return info.value.code


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    number: str
    kind: IdKind
    synthetic: bool
    born: date


# (kind, day offset, month offset, synthetic)
VARIANTS = (
    (IdKind.FNR, 0, 0, False),
    (IdKind.FNR, 0, 80, True),
    (IdKind.DNR, 40, 0, False),
    (IdKind.DNR, 40, 80, True),
    (IdKind.HNR, 0, 40, False),
)


def _individual_numbers(year: int) -> st.SearchStrategy[int]:
    """Individual numbers that encode ``year``'s century per the table."""
    if year <= 1899:
        return st.integers(500, 749)
    if year <= 1939:
        return st.integers(0, 499)
    if year <= 1999:
        return st.integers(0, 499) | st.integers(900, 999)
    return st.integers(500, 999)


@st.composite
def prefixes(draw: st.DrawFn) -> tuple[str, IdKind, bool, date]:
    """First nine digits of a number with a real date and a matching century."""
    born = draw(st.dates(min_value=date(1854, 1, 1), max_value=date(2039, 12, 31)))
    individual = draw(_individual_numbers(born.year))
    kind, day_offset, month_offset, synthetic = draw(st.sampled_from(VARIANTS))
    nine = f"{born.day + day_offset:02d}{born.month + month_offset:02d}{born.year % 100:02d}{individual:03d}"
    return nine, kind, synthetic, born


@st.composite
def legacy_numbers(draw: st.DrawFn) -> Generated:
    nine, kind, synthetic, born = draw(prefixes())
    number = _with_control_digits(nine)
    assume(number is not None)
    assert number is not None
    return Generated(number, kind, synthetic, born)


@st.composite
def rule_2032_numbers(draw: st.DrawFn) -> Generated:
    """Numbers valid only under the 2032 k1 rule."""
    nine, kind, synthetic, born = draw(prefixes())
    number = _with_control_digits(nine, draw(st.sampled_from((1, 2, 3))))
    assume(number is not None)
    assert number is not None
    return Generated(number, kind, synthetic, born)


@st.composite
def fhn_numbers(draw: st.DrawFn) -> str:
    nine = draw(st.sampled_from("89")) + draw(st.text("0123456789", min_size=8, max_size=8))
    number = _with_control_digits(nine)
    assume(number is not None)
    assert number is not None
    return number


@st.composite
def valid_orgnrs(draw: st.DrawFn) -> str:
    number = _orgnr_with_control_digit(draw(st.text("0123456789", min_size=8, max_size=8)))
    assume(number is not None)
    assert number is not None
    return number


any_valid_number = legacy_numbers().map(lambda g: g.number) | fhn_numbers()
digitish_text = st.text(alphabet="0123456789 .\t\u00a0-/\u0663\u00b2\uff11", max_size=20)


# ---------------------------------------------------------------------------
# Examples from domain.md §4
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "synthetic", "rule", "born"),
    [
        ("15888540013", IdKind.FNR, True, "legacy", date(1985, 8, 15)),
        ("15888540285", IdKind.FNR, True, "legacy", date(1985, 8, 15)),
        ("01820355039", IdKind.FNR, True, "legacy", date(2003, 2, 1)),
        ("55889030088", IdKind.DNR, True, "legacy", date(1990, 8, 15)),
        ("10447210016", IdKind.HNR, False, "legacy", date(1972, 4, 10)),
        ("07869010183", IdKind.FNR, True, "2032", None),
    ],
)
def test_domain_examples_valid(value: str, kind: IdKind, synthetic: bool, rule: str, born: date | None) -> None:
    nid = parse_national_id(value)
    assert nid.value == value
    assert nid.kind is kind
    assert nid.synthetic is synthetic
    assert nid.checksum_rule == rule
    assert nid.birth_date == born
    assert is_valid_national_id(value)


def test_2032_example_would_fail_the_legacy_rule() -> None:
    legacy = _with_control_digits("078690101")
    assert legacy is not None
    assert legacy[9] == "6"  # the legacy k1
    assert _reference_is_valid("07869010183")


def test_domain_example_one_digit_changed_is_checksum_error() -> None:
    assert _code("15888540014") == "checksum"
    assert not is_valid_national_id("15888540014")


@pytest.mark.parametrize(
    "value",
    [
        "12837826592",
        "04916517721",
        "23868130261",
        "09899012469",
        "17817213715",
        "28828537581",
        "05857014830",
        "30875928763",
        "14904839826",
        "02923712995",
    ],
)
def test_project_test_patients_are_synthetic_fnr(value: str) -> None:
    nid = national_id_for_system(SYSTEM_FNR, value)
    assert nid.kind is IdKind.FNR
    assert nid.synthetic
    assert nid.checksum_rule == "legacy"
    assert nid.birth_date is not None
    assert nid.system == SYSTEM_FNR


@pytest.mark.parametrize(
    "value",
    [
        "312345005",
        "312345013",
        "311111019",
        "315555019",
        "312222019",
        "313333019",
        "314444019",
        "316666019",
        "999977774",
        "313745392",
        "313325016",
        "312232324",
    ],
)
def test_valid_orgnrs(value: str) -> None:
    assert parse_orgnr(value) == value
    assert is_valid_orgnr(value)


@pytest.mark.parametrize("value", ["312345006", "999977776", "999977775", "312232326"])
def test_invalid_orgnrs(value: str) -> None:
    assert not is_valid_orgnr(value)
    with pytest.raises(InvalidIdentifier) as info:
        parse_orgnr(value)
    assert info.value.code == "checksum"


@pytest.mark.parametrize("value", ["", "31234500", "3123450050", "31234500X", "312-345-005"])
def test_orgnr_format(value: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_orgnr(value)
    assert info.value.code == "format"


def test_orgnr_strips_spaces() -> None:
    assert parse_orgnr(" 312 345 005\n") == "312345005"


# ---------------------------------------------------------------------------
# Constants, normalisation, systems
# ---------------------------------------------------------------------------


def test_system_constants() -> None:
    assert SYSTEM_FNR == "urn:oid:2.16.578.1.12.4.1.4.1"
    assert SYSTEM_DNR == "urn:oid:2.16.578.1.12.4.1.4.2"
    assert SYSTEM_FHN == "urn:oid:2.16.578.1.12.4.1.4.3"
    assert SYSTEM_HPR == "urn:oid:2.16.578.1.12.4.1.4.4"
    assert SYSTEM_ORGNR == "urn:oid:2.16.578.1.12.4.1.4.101"
    assert SYSTEM_RESH == "urn:oid:2.16.578.1.12.4.1.4.102"
    assert frozenset({SYSTEM_FNR, SYSTEM_DNR, SYSTEM_FHN}) == PATIENT_SYSTEMS


@pytest.mark.parametrize("value", ["158885 40013", " 15.88.85 400 13 ", "15888540013\n", "1588854\u00a00013"])
def test_spaces_and_dots_are_removed(value: str) -> None:
    assert parse_national_id(value).value == "15888540013"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1588854001",
        "158885400130",
        "15888540O13",
        "15-08-85-40013",
        "\u0661" * 11,
        "15888540013\u00b2",
    ],
)
def test_format_errors(value: str) -> None:
    assert _code(value) == "format"


def test_system_property() -> None:
    assert parse_national_id("15888540013").system == SYSTEM_FNR
    assert parse_national_id("55889030088").system == SYSTEM_DNR
    fhn = _with_control_digits("812345678")
    assert fhn is not None
    assert parse_national_id(fhn).system == SYSTEM_FHN
    with pytest.raises(InvalidIdentifier) as info:
        _ = parse_national_id("10447210016").system
    assert info.value.code == "kind"


def test_national_id_for_system_accepts_matching_kinds() -> None:
    fhn = _with_control_digits("912345678")
    assert fhn is not None
    assert national_id_for_system(SYSTEM_FNR, "15888540013").kind is IdKind.FNR
    assert national_id_for_system(SYSTEM_FNR, "07869010183").kind is IdKind.FNR
    assert national_id_for_system(SYSTEM_DNR, "55889030088").kind is IdKind.DNR
    assert national_id_for_system(SYSTEM_FHN, fhn).kind is IdKind.FHN


@pytest.mark.parametrize(
    ("system", "value"),
    [
        (SYSTEM_FNR, "55889030088"),  # D-number under the FNR system
        (SYSTEM_FNR, "10447210016"),  # H-number must never be sent as FNR
        (SYSTEM_DNR, "15888540013"),
        (SYSTEM_DNR, "10447210016"),
        (SYSTEM_FHN, "15888540013"),
        (SYSTEM_HPR, "15888540013"),
        (SYSTEM_ORGNR, "15888540013"),
        ("urn:oid:2.16.578.1.12.4.1.4.9", "15888540013"),
        ("", "15888540013"),
    ],
)
def test_national_id_for_system_rejects_other_kinds(system: str, value: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        national_id_for_system(system, value)
    assert info.value.code == "kind"


def test_national_id_for_system_reports_number_errors_first() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        national_id_for_system(SYSTEM_FNR, "15888540014")
    assert info.value.code == "checksum"


def test_invalid_identifier_is_value_error_and_copies() -> None:
    with pytest.raises(ValueError) as info:
        parse_national_id("abc")
    assert isinstance(info.value, InvalidIdentifier)
    # deepcopy goes through __reduce__, as pickling does.
    clone = copy.deepcopy(info.value)
    assert isinstance(clone, InvalidIdentifier)
    assert clone.code == "format"


def test_repr_does_not_leak_the_number_or_birth_date() -> None:
    text = repr(parse_national_id("15888540013"))
    assert "15888540013" not in text
    assert "1985" not in text


# ---------------------------------------------------------------------------
# Dates, centuries and kinds
# ---------------------------------------------------------------------------


def _legacy(nine: str) -> str:
    number = _with_control_digits(nine)
    assert number is not None, nine
    return number


def _rule_2032(nine: str) -> str:
    for remainder in (1, 2, 3):
        number = _with_control_digits(nine, remainder)
        if number is not None:
            return number
    raise AssertionError(nine)


@pytest.mark.parametrize(
    ("nine", "year"),
    [
        ("010154500", 1854),
        ("010199749", 1899),
        ("010100001", 1900),
        ("010139499", 1939),
        ("010140900", 1940),
        ("010199999", 1999),
        ("010100500", 2000),
        ("010139999", 2039),
        ("010120750", 2020),
    ],
)
def test_century_table(nine: str, year: int) -> None:
    nid = parse_national_id(_legacy(nine))
    assert nid.birth_date == date(year, 1, 1)


@pytest.mark.parametrize("nine", ["010153500", "010145749", "010140750", "010199899"])
def test_unmapped_century_is_valid_without_birth_date(nine: str) -> None:
    nid = parse_national_id(_legacy(nine))
    assert nid.checksum_rule == "legacy"
    assert nid.birth_date is None
    assert age_on(nid, date(2025, 1, 1)) is None


@pytest.mark.parametrize(
    "nine",
    [
        "000190100",  # day 00
        "320190101",  # day 32
        "400190101",  # D-number day 00
        "720190100",  # D-number day 32
        "310490100",  # 31 April
        "300290102",  # 30 February
        "010090100",  # month 00
        "011390100",  # month 13
        "014090100",  # H-number month 00
        "015390100",  # H-number month 13
        "016890100",  # PMD test patients' month 68
        "017190100",  # month 71
        "018090100",  # Tenor month 00
        "019390101",  # Tenor month 13
        "414190100",  # D-number and H-number at once
        "290200100",  # 29 February 1900
        "290201100",  # 29 February 1901
        "298201100",  # Tenor, 29 February 1901
        "690201100",  # D-number, 29 February 1901
    ],
)
def test_impossible_dates(nine: str) -> None:
    assert _code(_legacy(nine)) == "date"


@pytest.mark.parametrize("nine", ["290200500", "290296100", "690204100", "298296100", "294296100"])
def test_29_february_in_leap_years(nine: str) -> None:
    nid = parse_national_id(_legacy(nine))
    assert nid.birth_date is not None
    assert (nid.birth_date.month, nid.birth_date.day) == (2, 29)


def test_29_february_accepted_when_century_unknown() -> None:
    nid = parse_national_id(_rule_2032("290201100"))
    assert nid.checksum_rule == "2032"
    assert nid.birth_date is None
    nid = parse_national_id(_legacy("290245600"))  # unmapped century
    assert nid.birth_date is None


def test_fhn_has_no_date_and_uses_the_current_rule_only() -> None:
    nid = parse_national_id(_legacy("899999999"))
    assert nid.kind is IdKind.FHN
    assert nid.birth_date is None
    assert not nid.synthetic
    assert _code(_rule_2032("800000000")) == "checksum"


def test_age_on() -> None:
    nid = parse_national_id("15888540013")  # 15.08.1985
    assert age_on(nid, date(1985, 8, 15)) == 0
    assert age_on(nid, date(2025, 8, 14)) == 39
    assert age_on(nid, date(2025, 8, 15)) == 40
    assert age_on(nid, date(1985, 8, 14)) is None
    leapling = parse_national_id(_legacy("290296100"))
    assert age_on(leapling, date(1997, 2, 28)) == 0
    assert age_on(leapling, date(1997, 3, 1)) == 1
    assert age_on(leapling, date(2000, 2, 29)) == 4
    assert age_on(parse_national_id("07869010183"), date(2025, 1, 1)) is None


# ---------------------------------------------------------------------------
# Property-based tests
# ---------------------------------------------------------------------------


@given(legacy_numbers())
def test_generated_legacy_numbers_parse(g: Generated) -> None:
    nid = parse_national_id(g.number)
    assert nid == NationalId(
        value=g.number,
        kind=g.kind,
        synthetic=g.synthetic,
        checksum_rule="legacy",
        birth_date=g.born,
    )
    assert age_on(nid, g.born) == 0
    assert _reference_is_valid(g.number)


@given(legacy_numbers())
def test_generated_numbers_fit_their_system(g: Generated) -> None:
    if g.kind is IdKind.HNR:
        for system in PATIENT_SYSTEMS:
            with pytest.raises(InvalidIdentifier) as info:
                national_id_for_system(system, g.number)
            assert info.value.code == "kind"
    else:
        nid = national_id_for_system(SYSTEM_FNR if g.kind is IdKind.FNR else SYSTEM_DNR, g.number)
        assert nid.system in PATIENT_SYSTEMS


@given(rule_2032_numbers())
def test_generated_2032_numbers_parse_without_birth_date(g: Generated) -> None:
    nid = parse_national_id(g.number)
    assert nid.kind is g.kind
    assert nid.synthetic is g.synthetic
    assert nid.checksum_rule == "2032"
    assert nid.birth_date is None
    assert _reference_is_valid(g.number)


@given(fhn_numbers())
def test_generated_fhn_parse(number: str) -> None:
    nid = national_id_for_system(SYSTEM_FHN, number)
    assert nid.kind is IdKind.FHN
    assert nid.birth_date is None
    assert nid.checksum_rule == "legacy"


@given(any_valid_number | rule_2032_numbers().map(lambda g: g.number), st.data())
def test_single_digit_change_is_rejected(number: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, 10))
    digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != number[position]))
    changed = number[:position] + digit + number[position + 1 :]
    assert is_valid_national_id(changed) == _reference_is_valid(changed)
    # k2 weights (5,4,3,2,7,6,5,4,3,2 and 1 for k2 itself) are all non-zero
    # mod 11, so every single-digit change breaks k2, under either k1 rule.
    assert not is_valid_national_id(changed)


@given(any_valid_number, st.integers(0, 9))
def test_adjacent_transposition_is_rejected(number: str, position: int) -> None:
    assume(number[position] != number[position + 1])
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    assert is_valid_national_id(swapped) == _reference_is_valid(swapped)
    assert not is_valid_national_id(swapped)


@given(st.text("0123456789", min_size=11, max_size=11))
def test_random_digits_agree_with_reference(number: str) -> None:
    assert is_valid_national_id(number) == _reference_is_valid(number)


@given(st.text().filter(lambda s: re.fullmatch(r"[0-9]{11}", _normalise(s)) is None))
def test_non_eleven_digit_text_is_format_error(text: str) -> None:
    assert _code(text) == "format"


@given(st.text("0123456789", max_size=30).filter(lambda s: len(s) != 11))
def test_wrong_length_is_format_error(text: str) -> None:
    assert _code(text) == "format"


@given(st.text() | digitish_text)
def test_arbitrary_text_only_raises_invalid_identifier(text: str) -> None:
    try:
        nid = parse_national_id(text)
    except InvalidIdentifier as error:
        assert error.code in {"format", "date", "checksum"}
        assert not _reference_is_valid(_normalise(text))
    else:
        assert nid.value == _normalise(text)
        assert _reference_is_valid(nid.value)


@given(st.text() | digitish_text, st.sampled_from([*PATIENT_SYSTEMS, SYSTEM_HPR, "x"]))
def test_for_system_only_raises_invalid_identifier(text: str, system: str) -> None:
    try:
        national_id_for_system(system, text)
    except InvalidIdentifier as error:
        assert error.code in {"format", "date", "checksum", "kind"}


@given(valid_orgnrs())
def test_generated_orgnrs_parse(number: str) -> None:
    assert parse_orgnr(number) == number


@given(valid_orgnrs(), st.data())
def test_orgnr_single_digit_change_is_rejected(number: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, 8))
    digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != number[position]))
    assert not is_valid_orgnr(number[:position] + digit + number[position + 1 :])


@given(st.text() | digitish_text)
def test_orgnr_arbitrary_text_only_raises_invalid_identifier(text: str) -> None:
    try:
        value = parse_orgnr(text)
    except InvalidIdentifier as error:
        assert error.code in {"format", "checksum"}
    else:
        assert re.fullmatch(r"[0-9]{9}", value)
        assert _dot(ORGNR_FULL, value) % 11 == 0
