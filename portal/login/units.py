"""Which unit (orgnr_child) a person acts for, in this session.

The organisation and unit come from HelseID's client claims after the portal asked for one of the
person's own memberships (portal.login.organisations); the unit lives in the session and becomes
the Actor's orgnr_child, so it is in every audit record written while they act for it.
"""

from __future__ import annotations

from django.http import HttpRequest

from .models import Profile

SESSION_KEY = "acting_orgnr_child"
# How many organisations/units the person could choose from at login (the header offers a change when > 1).
CHOICE_COUNT_SESSION_KEY = "unit_choice_count"


def acting_orgnr_child(request: HttpRequest, profile: Profile) -> str:
    """The unit HelseID asserted for this session, else the one of the last login."""
    chosen = request.session.get(SESSION_KEY)
    return chosen if isinstance(chosen, str) else profile.orgnr_child
