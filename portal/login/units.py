"""Which unit (orgnr_child) a person acts for.

HelseID names the legal entity (orgnr_parent) the login is for, and a unit when the client
asks for one. A person who works at several units of that legal entity chooses the one they
act for now; the choice lives in their session and becomes the Actor's orgnr_child, so it is
in every audit record written while they act. Only units registered under the legal entity
the login names can be chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from sharing.agreements.models import Organisation

from .models import Profile

SESSION_KEY = "acting_orgnr_child"
# How many units the person could choose from at login (the page header offers a change when > 1).
CHOICE_COUNT_SESSION_KEY = "unit_choice_count"


@dataclass(frozen=True)
class Unit:
    orgnr: str
    name: str


def unit_choices(profile: Profile) -> list[Unit]:
    """The units `profile` may act for: those registered under its legal entity, and the one
    HelseID named (registered or not)."""
    if not profile.orgnr_parent:
        return []
    units = [
        Unit(orgnr, name)
        for orgnr, name in Organisation.objects.filter(parent__orgnr=profile.orgnr_parent)
        .order_by("name")
        .values_list("orgnr", "name")
    ]
    if profile.orgnr_child and profile.orgnr_child not in {unit.orgnr for unit in units}:
        units.insert(0, Unit(profile.orgnr_child, ""))
    return units


def acting_orgnr_child(request: HttpRequest, profile: Profile) -> str:
    """The unit chosen in this session, else the one HelseID named."""
    chosen = request.session.get(SESSION_KEY)
    return chosen if isinstance(chosen, str) else profile.orgnr_child
