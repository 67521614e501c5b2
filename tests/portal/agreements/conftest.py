"""People for the admin pages: the demo grants, and a quick login for each person.

The full HelseID login is exercised in test_login_flow.py and the browser tests; here a
person's profile is written as a login would write it, and the session is logged in directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from devdata import demo
from devdata.demo import seed_demo_grants
from portal.login.models import Profile
from sharing.access import people

# person: (pid, name, organisation acted for, HPR number)
PEOPLE = {
    "astrid": ("17817213715", "Astrid Holm", demo.OSLO, ""),  # Oslo municipality admin
    "jonas": ("28828537581", "Jonas Strand", demo.OSLO, ""),  # Oslo auditor
    "berit": ("11916933853", "Berit Lie", demo.BAERUM, ""),  # Bærum municipality admin
    "tor": ("26839233123", "Tor Nes", demo.BAERUM, ""),  # Bærum auditor
    "siri": ("03847733283", "Siri Moe", demo.OPERATOR, ""),  # system admin
    "leif": ("19888338694", "Leif Aas", demo.OPERATOR, ""),  # service auditor
    "ingrid": ("12837826592", "Ingrid Berg", demo.LOVISENBERG, "565501872"),  # clinician
    "astrid-at-baerum": ("17817213715", "Astrid Holm", demo.BAERUM, ""),  # Oslo's admin, acting for Bærum
}


@pytest.fixture
def admin_world(oslo: dict[str, Any]) -> dict[str, Any]:
    """Oslo's organisations and agreements, and the demo people's roles."""
    seed_demo_grants(by=demo.SEEDER)
    return oslo


@pytest.fixture
def login(admin_world: dict[str, Any]) -> Callable[[str], Client]:
    """A logged-in test client for one of PEOPLE (a new client each call)."""

    def as_person(person: str) -> Client:
        pid, name, orgnr, hpr = PEOPLE[person]
        user = get_user_model().objects.create_user(username=f"helseid-{person}")
        Profile.objects.create(
            user=user, sub=f"sub-{person}", pid=pid, name=name, orgnr_parent=orgnr, hpr_number=hpr, security_level="4"
        )
        people.note_login(pid=pid, hpr_number=hpr, name=name)  # as the login writes it
        client = Client()
        client.force_login(user)
        return client

    return as_person
