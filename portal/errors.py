"""When the database cannot be reached (a failover, a restart): 503 with Retry-After, never 500.

Two ways in, one answer. A view that meets the lost database raises through
`DatabaseUnavailableMiddleware.process_exception`; middleware that meets it first (the session is
the first thing a portal request reads) ends in Django's 500 handler, `server_error`, which looks at
the exception in flight. Under /fhir the answer is the API's OperationOutcome (code `transient`);
elsewhere the page `503.html`, which needs neither the database nor the session. Any other error
keeps the 500 page. sharing.core.outage says what counts, and logs each such answer.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader
from django.views import defaults

from sharing.core.outage import database_unavailable, log_unavailable, retry_after
from sharing.fhir.views import unavailable as fhir_unavailable


def unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 for a database that cannot be reached, logged."""
    log_unavailable(exc, method=request.method or "", path=request.path)
    if request.path == "/fhir" or request.path.startswith("/fhir/"):
        return fhir_unavailable(request)
    # Rendered without the request: context processors read the database and the session.
    again = request.get_full_path() if request.method == "GET" else "/"
    page = loader.get_template("503.html").render({"again": again})
    return HttpResponse(page, status=503, headers={"Retry-After": retry_after()})


class DatabaseUnavailableMiddleware:
    """A view that finds the database unreachable answers 503 (`unavailable`), not 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable(request, exception) if database_unavailable(exception) else None


def server_error(request: HttpRequest) -> HttpResponse | HttpResponseServerError:
    """Django's 500 handler (portal/urls.py): the database going away in middleware is a 503 too."""
    exc = sys.exc_info()[1]
    if exc is not None and database_unavailable(exc):
        return unavailable(request, exc)
    return defaults.server_error(request)
