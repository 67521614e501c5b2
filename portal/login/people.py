"""Choosing a person in an admin form: by number, confirmed by the name HelseID gave them.

The admin types a national ID or an HPR number and presses "Finn person"; the page shows whom the
number names (the name from that person's own last login, or "not logged in yet") and a button
that repeats the number (`confirmed`). Only a submission whose confirmation matches the number in
the field is carried out, so nothing is granted to a number whose name the admin has not seen.
Works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from sharing.access import people
from sharing.access.people import Person


class PersonField(forms.CharField):
    """A national ID or HPR number, cleaned to the `Person` it names."""

    def __init__(self, *, require_pid: bool = False, **kwargs: Any) -> None:
        self.require_pid = require_pid
        kwargs.setdefault("label", _("National ID or HPR number") if not require_pid else _("National identity number"))
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"})
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Person:
        text = super().clean(value)
        try:
            pid, hpr_number = people.parse_person(text)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        person = people.identify(pid=pid, hpr_number=hpr_number)
        if self.require_pid and not person.pid:
            raise forms.ValidationError(
                _("Nobody with this HPR number has logged in yet. Give the person's national identity number.")
            )
        return person


class PersonForm(forms.Form):
    """A form that names a person: `person` first, then the form's own fields; `ready` when the
    admin has seen the name and confirmed it."""

    person = PersonField()

    @property
    def found(self) -> Person | None:
        """The person the number names, once the form is valid (shown for confirmation)."""
        return self.cleaned_data.get("person") if self.is_valid() else None

    @property
    def ready(self) -> bool:
        found = self.found
        return found is not None and self.data.get("confirmed", "") == found.key


@dataclass(frozen=True)
class Listed:
    """A row of a list of people: the row, the name HelseID gave the person ("" if not logged in
    yet) and the national ID masked."""

    row: Any
    name: str
    masked_pid: str


def with_names(rows: Iterable[Any], *, by_name: bool = True) -> list[Listed]:
    """Rows with `pid` and (optionally) `hpr_number`, each with the person's name; one query.
    With `by_name`, sorted by name (those not logged in yet last); else in the rows' order."""
    rows = list(rows)
    pids = [row.pid for row in rows]
    hprs = [getattr(row, "hpr_number", "") for row in rows]
    names = people.names(pids=pids, hpr_numbers=hprs)
    listed = [
        Listed(row, names.get(row.pid) or names.get(getattr(row, "hpr_number", "")) or "", people.masked(row.pid))
        for row in rows
    ]
    if not by_name:
        return listed
    return sorted(listed, key=lambda item: (not item.name, item.name.casefold()))
