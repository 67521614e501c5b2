"""People by name, not numbers: who a national ID or HPR number belongs to, as HelseID said.

An admin never types a name. They give a national ID or an HPR number; the name shown beside it
is the one HelseID put in that person's own ID token at their last login (`KnownPerson`, written
at every login by `note_login`), or "not logged in yet" when nobody with that number has logged
in. Lists show the name and a masked number (`masked`: the first six digits, the birth date of a
fødselsnummer); the full number only where the task needs it (docs/audit.md, "Identifiers in lists").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sharing.identifiers import InvalidIdentifier, parse_national_id

from .models import KnownPerson


def masked(number: str) -> str:
    """A national ID shown in a list: the first six digits and the rest hidden (`010190 *****`)."""
    return f"{number[:6]} *****" if len(number) == 11 else number


@dataclass(frozen=True)
class Person:
    """Whom a number names: the number(s) and, when they have logged in, their name and last login."""

    pid: str = ""
    hpr_number: str = ""
    name: str = ""
    last_login_at: dt.datetime | None = None
    # The number the person was looked up by (a national ID, or an HPR number).
    asked: str = ""

    @property
    def known(self) -> bool:
        return bool(self.name)

    @property
    def key(self) -> str:
        """The number as typed and checked: what a confirmation repeats."""
        return self.asked or self.pid or self.hpr_number

    @property
    def masked_pid(self) -> str:
        return masked(self.pid)


def parse_person(text: str) -> tuple[str, str]:
    """(pid, hpr_number) from what an admin typed: 11 digits are a national ID (checked), 6 to 9
    digits an HPR number. Raises ValidationError otherwise."""
    digits = "".join(ch for ch in text if not ch.isspace() and ch != ".")
    if not digits.isdigit():
        raise ValidationError(_("Give a national identity number (11 digits) or an HPR number (6 to 9 digits)."))
    if len(digits) == 11:
        try:
            return parse_national_id(digits).value, ""
        except InvalidIdentifier as exc:
            raise ValidationError(str(exc.message)) from exc
    if 6 <= len(digits) <= 9:
        return "", digits
    raise ValidationError(_("Give a national identity number (11 digits) or an HPR number (6 to 9 digits)."))


def identify(*, pid: str = "", hpr_number: str = "") -> Person:
    """The person a national ID or HPR number names, with their name if they have logged in (and,
    looked up by HPR number, their national ID as their login gave it)."""
    asked = pid or hpr_number
    row = None
    if pid:
        row = KnownPerson.objects.filter(pid=pid).first()
    elif hpr_number:
        row = KnownPerson.objects.filter(hpr_number=hpr_number).order_by("-last_login_at").first()
    if row is None:
        return Person(pid=pid, hpr_number=hpr_number, asked=asked)
    return Person(
        pid=pid or row.pid, hpr_number=hpr_number, name=row.name, last_login_at=row.last_login_at, asked=asked
    )


def names(*, pids: Iterable[str] = (), hpr_numbers: Iterable[str] = ()) -> dict[str, str]:
    """{number: name} for the national IDs and HPR numbers of people who have logged in. One query."""
    pids, hpr_numbers = {p for p in pids if p}, {h for h in hpr_numbers if h}
    if not pids and not hpr_numbers:
        return {}
    found: dict[str, str] = {}
    rows = KnownPerson.objects.filter(Q(pid__in=pids) | Q(hpr_number__in=hpr_numbers)).order_by("last_login_at")
    for pid, hpr, name in rows.values_list("pid", "hpr_number", "name"):
        if pid in pids:
            found[pid] = name
        if hpr and hpr in hpr_numbers:
            found[hpr] = name
    return found


def note_login(*, pid: str, hpr_number: str, name: str, at: dt.datetime | None = None) -> None:
    """Remember what HelseID said about a person at a login (the login itself is audited as
    user.login). Only a login with a national ID and a name is remembered."""
    if not pid or not name:
        return
    at = at or timezone.now()
    row, created = KnownPerson.objects.get_or_create(
        pid=pid, defaults={"hpr_number": hpr_number, "name": name, "first_login_at": at, "last_login_at": at}
    )
    if not created:
        KnownPerson.objects.filter(pk=row.pk).update(hpr_number=hpr_number, name=name, last_login_at=at)
