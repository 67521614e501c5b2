"""Fixtures for the clinician pages: a year of data, and clinicians logged in through devidp."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import DevIdP, idp_login

from .factories import KARI, seed_year


@pytest.fixture
def year_data(oslo: dict[str, Any]) -> str:
    """Kari Nordmann: a year of six kinds at four readings a day, in Oslo's follow-up."""
    seed_year()
    return KARI


@pytest.fixture
def ingrid(client: Client, helseid: DevIdP) -> Client:
    """Ingrid Berg, physician at Lovisenberg (agreement with Oslo, no time limit)."""
    idp_login(client, helseid, "ingrid-berg")
    return client


def open_patient(client: Client, national_id: str, *, basis: str = "care", reason: str = "Innlagt") -> str:
    """Search as the logged-in clinician; return the patient page's URL."""
    response = client.post("/", {"national_id": national_id, "basis": basis, "reason": reason})
    assert response.status_code == 302, response.content.decode()[:2000]
    return str(response["Location"])
