"""While the database cannot be reached (a failover), the API answers 503 with Retry-After and a
coded OperationOutcome in the caller's language, never 500, and hands out nothing (issue 21)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from portal.login.devclient import DpopKey, epj_user_token
from sharing.audit.models import AuditEvent
from sharing.identifiers import SYSTEM_FNR
from tests.outage import connection_drops_at, database_unreachable

pytestmark = pytest.mark.django_db(transaction=True)
ERROR_SYSTEM = "https://maaledata.no/fhir/CodeSystem/api-error"
LASTN = "/fhir/Observation/$lastn"


@pytest.fixture
def epj(helseid: Any, patient_data: str) -> Any:
    """Lovisenberg's EPJ acting for Ingrid Berg, in process (the test shares the portal's connection)."""
    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    client = Client()

    def get(path: str, language: str = "") -> Any:
        headers = {
            "HTTP_AUTHORIZATION": f"DPoP {token}",
            "HTTP_DPOP": key.proof("GET", f"http://testserver{path}", token),
        }
        if language:
            headers["HTTP_ACCEPT_LANGUAGE"] = language
        return client.get(path, {"patient.identifier": f"{SYSTEM_FNR}|{patient_data}", "max": "2"}, **headers)

    return get


def _transient(response: Any) -> tuple[str, str]:
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response["Cache-Control"] == "no-store"
    [issue] = response.json()["issue"]
    assert (issue["severity"], issue["code"]) == ("fatal", "transient")
    [coding] = issue["details"]["coding"]
    assert coding["system"] == ERROR_SYSTEM and issue["diagnostics"] == issue["details"]["text"]
    assert "Kari" not in response.content.decode()
    return coding["code"], issue["diagnostics"]


def test_with_the_primary_down_a_read_is_503_with_retry_after_in_the_callers_language(epj, caplog):
    assert epj(LASTN).status_code == 200
    with database_unreachable(), caplog.at_level(logging.WARNING, logger="sharing.core.outage"):
        norwegian = _transient(epj(LASTN))
        english = _transient(epj(LASTN, language="en"))
    assert norwegian[0] == english[0] == "database-unavailable"
    assert "Prøv igjen om 5 sekunder" in norwegian[1]
    assert "Try again in 5 seconds" in english[1]
    assert [r.getMessage() for r in caplog.records if "answered 503" in r.getMessage()][0].startswith(
        "database unavailable: GET /fhir/Observation/$lastn answered 503 (OperationalError"
    )
    assert epj(LASTN).status_code == 200  # back: the next request connects again


def test_a_connection_lost_while_gathering_hands_out_nothing_and_logs_no_read(epj):
    with connection_drops_at("measurements_patientcode") as failed:
        code, _text = _transient(epj(LASTN))
    assert failed and code == "database-unavailable"
    assert not AuditEvent.objects.filter(event="api.lastn").exists()


def test_a_connection_lost_at_the_audit_write_hands_out_nothing(epj):
    with connection_drops_at("INSERT INTO audit_auditevent") as failed:
        code, _text = _transient(epj(LASTN))
    assert failed and code == "audit-unavailable"  # the gather had run: nothing of it leaves unlogged
    assert not AuditEvent.objects.filter(event="api.lastn").exists()
