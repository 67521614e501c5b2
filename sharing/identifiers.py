"""Norwegian person and organisation identifiers (domain.md §4).

Pure functions, no database. Parses and checks:

* fødselsnummer (FNR), D-nummer (DNR), H-nummer (HNR, internal only) and
  felles hjelpenummer (FHN), including Test-Norge/Tenor synthetic numbers
  (month + 80, also combined with the D-number day + 40);
* organisasjonsnummer (9 digits, mod 11).

Control digits follow the current rule and the rule that applies from 1 January
2032 (k1 may be any digit with ``(s1 + k1) mod 11`` in {0, 1, 2, 3}; k2 is
unchanged). Both are accepted now. Under the 2032 rule the century can no longer
be read from the individual number, so no birth date is derived.

Deliberate choices where the sources leave room:

* Sex is never derived (from 2032 the numbers are gender-neutral).
* FHN uses the current control-digit rule only: NHN describes its control digits
  as those of an ordinary fødselsnummer, and the 2032 change is about FNR/DNR.
* Month + 40 is read as an H-number. NAV/Dolly synthetic numbers are said to use
  the same offset (unsourced), so they come out as ``IdKind.HNR``.
* A number that satisfies the current k1 rule but whose individual number and
  year fall outside the century table is still valid (it also satisfies the
  2032 rule); its birth date is ``None``.
* Month fields outside 01-12, 41-52 and 81-92 (for example the 68 and 71 seen in
  PMD test data) are rejected with code ``"date"``. Callers that receive such
  numbers from upstream systems should accept and flag them, not re-validate.
* The identifier value and birth date are left out of ``repr()`` so they do not
  end up in logs by accident; error messages never contain the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Final, Literal, TypeAlias

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

__all__ = [
    "PATIENT_SYSTEMS",
    "SYSTEM_DNR",
    "SYSTEM_FHN",
    "SYSTEM_FNR",
    "SYSTEM_HPR",
    "SYSTEM_ORGNR",
    "SYSTEM_RESH",
    "ChecksumRule",
    "ErrorCode",
    "IdKind",
    "InvalidIdentifier",
    "NationalId",
    "age_on",
    "is_valid_national_id",
    "is_valid_orgnr",
    "national_id_for_system",
    "parse_national_id",
    "parse_orgnr",
]

SYSTEM_FNR: Final = "urn:oid:2.16.578.1.12.4.1.4.1"
SYSTEM_DNR: Final = "urn:oid:2.16.578.1.12.4.1.4.2"
SYSTEM_FHN: Final = "urn:oid:2.16.578.1.12.4.1.4.3"
SYSTEM_HPR: Final = "urn:oid:2.16.578.1.12.4.1.4.4"
SYSTEM_ORGNR: Final = "urn:oid:2.16.578.1.12.4.1.4.101"
SYSTEM_RESH: Final = "urn:oid:2.16.578.1.12.4.1.4.102"

#: Identifier systems that identify a patient.
PATIENT_SYSTEMS: Final[frozenset[str]] = frozenset({SYSTEM_FNR, SYSTEM_DNR, SYSTEM_FHN})

ErrorCode: TypeAlias = Literal["format", "date", "checksum", "kind"]
ChecksumRule: TypeAlias = Literal["legacy", "2032"]
StrOrPromise: TypeAlias = str | Promise


class IdKind(StrEnum):
    FNR = "fnr"
    DNR = "dnr"
    HNR = "hnr"
    FHN = "fhn"


class InvalidIdentifier(ValueError):
    """An identifier failed validation.

    ``code`` is one of ``"format"``, ``"date"``, ``"checksum"`` or ``"kind"``;
    ``message`` is a lazily translated text for the user. Neither contains the
    rejected value.
    """

    code: ErrorCode
    message: StrOrPromise

    def __init__(self, code: ErrorCode, message: StrOrPromise) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(
        self,
    ) -> tuple[type[InvalidIdentifier], tuple[ErrorCode, StrOrPromise]]:
        return (type(self), (self.code, self.message))


_MSG_FORMAT = _("A national identity number has 11 digits.")
_MSG_DATE = _("The first six digits of the number do not form a valid date.")
_MSG_CHECKSUM = _("The number is not valid. Check it for typing errors.")
_MSG_NOT_FNR = _("The number is not a national identity number (fødselsnummer).")
_MSG_NOT_DNR = _("The number is not a D number.")
_MSG_NOT_FHN = _("The number is not a common auxiliary number (felles hjelpenummer).")
_MSG_NOT_PATIENT_SYSTEM = _("The identifier system is not a patient identifier system.")
_MSG_HNR_INTERNAL = _("An H number is internal to the organisation and must not be shared.")
_MSG_ORGNR_FORMAT = _("An organisation number has 9 digits.")
_MSG_ORGNR_CHECKSUM = _("The organisation number is not valid. Check it for typing errors.")

_K1_WEIGHTS: Final = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS: Final = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORGNR_WEIGHTS: Final = (3, 2, 7, 6, 5, 4, 3, 2)
#: Values of (s1 + k1) mod 11 the 2032 rule accepts; 0 is the current rule.
_K1_2032_REMAINDERS: Final = frozenset({0, 1, 2, 3})

_D_NUMBER_DAY_OFFSET: Final = 40
_H_NUMBER_MONTH_OFFSET: Final = 40
_TENOR_MONTH_OFFSET: Final = 80
#: Longest month lengths, with February allowing the 29th.
_MAX_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_NATIONAL_ID_RE: Final = re.compile(r"[0-9]{11}")
_ORGNR_RE: Final = re.compile(r"[0-9]{9}")
_NATIONAL_ID_SEPARATORS_RE: Final = re.compile(r"[\s.]+")
_WHITESPACE_RE: Final = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class NationalId:
    """A checked FNR, D-number, H-number or FHN."""

    #: The 11 digits, without spaces or dots.
    value: str = field(repr=False)
    kind: IdKind
    #: Test-Norge/Tenor synthetic number (month + 80).
    synthetic: bool
    #: The k1 rule the number satisfies; ``"legacy"`` when it satisfies both.
    checksum_rule: ChecksumRule
    #: ``None`` for FHN, under the 2032 rule, and when the century is unknown.
    birth_date: date | None = field(repr=False)

    @property
    def system(self) -> str:
        """The FHIR identifier system for this number.

        Raises ``InvalidIdentifier(code="kind")`` for H-numbers, which have no
        national system and must not leave the organisation.
        """
        if self.kind is IdKind.HNR:
            raise InvalidIdentifier("kind", _MSG_HNR_INTERNAL)
        return _KIND_SYSTEMS[self.kind]


_KIND_SYSTEMS: Final[dict[IdKind, str]] = {
    IdKind.FNR: SYSTEM_FNR,
    IdKind.DNR: SYSTEM_DNR,
    IdKind.FHN: SYSTEM_FHN,
}
_SYSTEM_KIND_MESSAGES: Final[dict[str, tuple[IdKind, StrOrPromise]]] = {
    SYSTEM_FNR: (IdKind.FNR, _MSG_NOT_FNR),
    SYSTEM_DNR: (IdKind.DNR, _MSG_NOT_DNR),
    SYSTEM_FHN: (IdKind.FHN, _MSG_NOT_FHN),
}


def _weighted_sum(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits[: len(weights)], weights, strict=True))


def _control_digit(weighted_sum: int) -> int | None:
    """Mod-11 control digit, or ``None`` when it would be 10 (no valid digit)."""
    k = (11 - weighted_sum % 11) % 11
    return None if k == 10 else k


def _checksum_rule(digits: str, *, allow_2032: bool) -> ChecksumRule | None:
    """The k1 rule ``digits`` satisfies (with a correct k2), or ``None``."""
    remainder = (_weighted_sum(digits, _K1_WEIGHTS) + int(digits[9])) % 11
    rule: ChecksumRule
    if remainder == 0:
        rule = "legacy"
    elif allow_2032 and remainder in _K1_2032_REMAINDERS:
        rule = "2032"
    else:
        return None
    if _control_digit(_weighted_sum(digits, _K2_WEIGHTS)) != int(digits[10]):
        return None
    return rule


def _birth_year(yy: int, individual: int) -> int | None:
    """Four-digit year from YY and the individual number, or ``None`` if unmapped."""
    if individual <= 499:
        return 1900 + yy
    if individual <= 749 and yy >= 54:
        return 1800 + yy
    if individual >= 900 and yy >= 40:
        return 1900 + yy
    if yy < 40:
        return 2000 + yy
    return None


def _normalise_national_id(value: str) -> str:
    return _NATIONAL_ID_SEPARATORS_RE.sub("", value)


def parse_national_id(value: str) -> NationalId:
    """Parse an FNR, D-number, H-number or FHN; raise ``InvalidIdentifier``.

    Spaces (any whitespace) and dots are removed first.
    """
    digits = _normalise_national_id(value)
    if not _NATIONAL_ID_RE.fullmatch(digits):
        raise InvalidIdentifier("format", _MSG_FORMAT)

    if digits[0] in "89":
        fhn_rule = _checksum_rule(digits, allow_2032=False)
        if fhn_rule is None:
            raise InvalidIdentifier("checksum", _MSG_CHECKSUM)
        return NationalId(
            value=digits,
            kind=IdKind.FHN,
            synthetic=False,
            checksum_rule=fhn_rule,
            birth_date=None,
        )

    day = int(digits[0:2])
    month = int(digits[2:4])
    yy = int(digits[4:6])
    individual = int(digits[6:9])

    is_d_number = day > _D_NUMBER_DAY_OFFSET
    if is_d_number:
        day -= _D_NUMBER_DAY_OFFSET
    is_h_number = _H_NUMBER_MONTH_OFFSET < month <= _H_NUMBER_MONTH_OFFSET + 12
    synthetic = _TENOR_MONTH_OFFSET < month <= _TENOR_MONTH_OFFSET + 12
    if is_h_number:
        month -= _H_NUMBER_MONTH_OFFSET
    elif synthetic:
        month -= _TENOR_MONTH_OFFSET
    if not 1 <= month <= 12 or not 1 <= day <= _MAX_DAYS[month - 1]:
        raise InvalidIdentifier("date", _MSG_DATE)
    if is_d_number and is_h_number:
        raise InvalidIdentifier("date", _MSG_DATE)

    rule = _checksum_rule(digits, allow_2032=True)
    if rule is None:
        raise InvalidIdentifier("checksum", _MSG_CHECKSUM)

    birth_date: date | None = None
    year = _birth_year(yy, individual) if rule == "legacy" else None
    if year is not None:
        try:
            birth_date = date(year, month, day)
        except ValueError:  # 29 February outside a leap year
            raise InvalidIdentifier("date", _MSG_DATE) from None

    kind = IdKind.DNR if is_d_number else IdKind.HNR if is_h_number else IdKind.FNR
    return NationalId(
        value=digits,
        kind=kind,
        synthetic=synthetic,
        checksum_rule=rule,
        birth_date=birth_date,
    )


def is_valid_national_id(value: str) -> bool:
    """True if ``value`` parses as an FNR, D-number, H-number or FHN."""
    try:
        parse_national_id(value)
    except InvalidIdentifier:
        return False
    return True


def national_id_for_system(system: str, value: str) -> NationalId:
    """Parse ``value`` and check that its kind fits the FHIR identifier ``system``.

    ``SYSTEM_FNR`` takes fødselsnumre (Tenor included), ``SYSTEM_DNR`` D-numbers
    and ``SYSTEM_FHN`` FH-numbers. Any other system, or a number of another
    kind, raises ``InvalidIdentifier(code="kind")``.
    """
    expected = _SYSTEM_KIND_MESSAGES.get(system)
    if expected is None:
        raise InvalidIdentifier("kind", _MSG_NOT_PATIENT_SYSTEM)
    nid = parse_national_id(value)
    kind, message = expected
    if nid.kind is not kind:
        raise InvalidIdentifier("kind", message)
    return nid


def age_on(nid: NationalId, day: date) -> int | None:
    """Age in whole years on ``day``.

    ``None`` when the birth date is not derivable from the number, or when
    ``day`` is before the birth date. Someone born on 29 February turns a year
    older on 1 March in non-leap years.
    """
    born = nid.birth_date
    if born is None or day < born:
        return None
    had_birthday = (day.month, day.day) >= (born.month, born.day)
    return day.year - born.year - (0 if had_birthday else 1)


def parse_orgnr(value: str) -> str:
    """Return the 9-digit organisation number; raise ``InvalidIdentifier``.

    Whitespace is removed first.
    """
    digits = _WHITESPACE_RE.sub("", value)
    if not _ORGNR_RE.fullmatch(digits):
        raise InvalidIdentifier("format", _MSG_ORGNR_FORMAT)
    if _control_digit(_weighted_sum(digits, _ORGNR_WEIGHTS)) != int(digits[8]):
        raise InvalidIdentifier("checksum", _MSG_ORGNR_CHECKSUM)
    return digits


def is_valid_orgnr(value: str) -> bool:
    """True if ``value`` is a mod-11 valid organisation number."""
    try:
        parse_orgnr(value)
    except InvalidIdentifier:
        return False
    return True
