"""Our own Norwegian 400, 403, 404 and 500 pages: they say what happened, never what was asked for.

Each is reached the way a user reaches it, with a national identity number somewhere in the request
(the path, the host, the exception), and must not show it.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.template import loader
from django.test import Client, RequestFactory
from django.views import defaults

from tests.conftest import PATIENT, DevIdP, idp_login

pytestmark = pytest.mark.django_db(transaction=True)


def _shown(response) -> str:  # type: ignore[no-untyped-def]
    page = response.content.decode()
    assert PATIENT not in page and PATIENT[:6] not in page, "an identifier on an error page"
    assert response["Cache-Control"] == "no-store"
    return page


def test_404_is_norwegian_and_does_not_echo_the_path(client: Client, helseid: DevIdP) -> None:
    idp_login(client, helseid, "ingrid-berg")
    response = client.get(f"/pasient/{PATIENT}/")
    assert response.status_code == 404
    page = _shown(response)
    assert "Siden finnes ikke" in page and "Ingrid Berg" in page  # inside the portal's frame
    assert client.get(f"/finnes-ikke/{PATIENT}/").status_code == 404


def test_400_is_norwegian_and_does_not_echo_the_host(client: Client) -> None:
    response = client.get("/", HTTP_HOST=f"{PATIENT}.example.invalid")
    assert response.status_code == 400
    assert "Forespørselen kunne ikke brukes" in _shown(response)


def test_403_is_norwegian_and_does_not_echo_the_reason(rf: RequestFactory) -> None:
    request = rf.get(f"/x/{PATIENT}/")
    request.user = AnonymousUser()
    response = defaults.permission_denied(request, PermissionDenied(f"no access to {PATIENT}"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Du har ikke tilgang til denne siden" in page and PATIENT not in page


def test_a_form_without_its_csrf_token_gets_a_norwegian_403(helseid: DevIdP) -> None:
    client = Client(enforce_csrf_checks=True)
    idp_login(client, helseid, "ingrid-berg")
    response = client.post("/", {"national_id": PATIENT, "basis": "care", "reason": "Innlagt"})
    assert response.status_code == 403
    page = _shown(response)
    assert "Skjemaet er utløpt" in page and "CSRF" in page


@pytest.mark.urls("tests.portal.error_urls")
def test_500_is_norwegian_and_does_not_echo_the_error(client: Client, helseid: DevIdP) -> None:
    idp_login(client, helseid, "ingrid-berg")
    client.raise_request_exception = False
    response = client.get("/feil/")
    assert response.status_code == 500
    assert "Noe gikk galt" in _shown(response)


def test_the_500_page_needs_no_request_and_no_database(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    """Rendered as server_error renders it: no request, so no context processor (they query)."""
    with django_assert_num_queries(0):
        page = loader.get_template("500.html").render()
        response = defaults.server_error(RequestFactory().get("/"))
    assert "Noe gikk galt" in page and response.status_code == 500
