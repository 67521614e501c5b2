"""While the database cannot be reached (a failover), a portal page is a finished Norwegian 503
page with Retry-After, never a 500, and shows nothing of the patient (issue 21)."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db import IntegrityError

from sharing.audit.models import AuditEvent
from tests.outage import connection_drops_at, database_unreachable

from .conftest import open_patient

pytestmark = pytest.mark.django_db(transaction=True)


def _unavailable_page(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "Tjenesten er utilgjengelig en liten stund" in page and 'lang="nb"' in page
    assert "Ingen pasientdata er vist." in page
    assert "Kari" not in page and "30875928763" not in page
    return page


def test_with_the_primary_down_a_page_is_503_and_says_so_in_norwegian(ingrid, year_data, caplog):
    url = open_patient(ingrid, year_data)
    ingrid.raise_request_exception = False  # the session is read in middleware: Django's 500 handler answers
    with database_unreachable(), caplog.at_level(logging.WARNING, logger="sharing.core.outage"):
        page = _unavailable_page(ingrid.get(url))
        search = _unavailable_page(ingrid.post("/", {"national_id": year_data, "basis": "care", "reason": "Innlagt"}))
    assert f'href="{url}"' in page  # "Prøv igjen" opens the same page again
    assert 'href="/"' in search  # a form is not sent again by a link
    logged = [r.getMessage() for r in caplog.records if r.name == "sharing.core.outage"]
    assert len(logged) == 2 and logged[0].startswith(f"database unavailable: GET {url} answered 503")
    assert ingrid.get(url).status_code == 200  # the next request connects again


def test_a_connection_lost_while_the_page_gathers_shows_nothing_and_logs_no_view(ingrid, year_data):
    url = open_patient(ingrid, year_data)
    with connection_drops_at("measurements_measurement") as failed:
        _unavailable_page(ingrid.get(url))  # raised in the view: handled, not an uncaught exception
    assert failed
    assert not AuditEvent.objects.filter(event="patient.view").exists()


def test_a_database_error_that_is_no_outage_keeps_its_500(ingrid, year_data):
    url = open_patient(ingrid, year_data)
    ingrid.raise_request_exception = False
    with mock.patch("portal.clinician.views.patient_context", side_effect=IntegrityError("not an outage")):
        response = ingrid.get(url)
    assert response.status_code == 500 and "Noe gikk galt" in response.content.decode()
