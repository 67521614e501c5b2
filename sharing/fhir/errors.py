"""Every API error leaves as an OperationOutcome.

The API's own words (docs/fhir-api.md, "Errors"): `diagnostics` and `details.text` in the caller's
language (Norwegian, or English when Accept-Language prefers it) and a stable code in
`details.coding` (system ERROR_SYSTEM) that a client can act on whatever the language.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response

if TYPE_CHECKING:
    from rest_framework.request import Request

from sharing.core.outage import database_unavailable, log_unavailable, retry_after
from sharing.fhir.observation.issues import Issue
from sharing.fhir.wording import ERROR_SYSTEM, Said, Severity

__all__ = ["ERROR_SYSTEM", "Said", "Severity", "coded", "fhir_exception_handler", "language_of", "operation_outcome"]


def operation_outcome(issues: Iterable[Issue], language: str) -> dict[str, Any]:
    """An OperationOutcome of ingest's issues (errors first, then warnings), worded in `language`."""
    with translation.override(language):
        return {"resourceType": "OperationOutcome", "issue": [issue.as_fhir() for issue in issues]}


_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "login",
    status.HTTP_403_FORBIDDEN: "forbidden",
    status.HTTP_404_NOT_FOUND: "not-found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "not-supported",
    status.HTTP_406_NOT_ACCEPTABLE: "not-supported",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "too-long",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "not-supported",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


def language_of(request: HttpRequest | Request) -> str:
    """Norwegian unless the caller's Accept-Language prefers English."""
    return translation.get_language_from_request(getattr(request, "_request", request))


def coded(
    exc_class: type[exceptions.APIException], code: str, message: Any, /, **values: Any
) -> exceptions.APIException:
    """A DRF exception whose answer is worded in the caller's language with a stable code."""
    said = Said(code, message, **values)
    exc = exc_class(str(said))
    exc.said = said  # type: ignore[attr-defined]
    return exc


# DRF's own exceptions (parsers, content negotiation, throttling, authentication), worded here.
_GENERIC: dict[type[exceptions.APIException], tuple[str, Any]] = {
    exceptions.ParseError: ("parse-error", _("The request could not be read.")),
    exceptions.NotAuthenticated: (
        "token-missing",
        _("An access token is needed: Authorization: DPoP <token> with a DPoP proof, or Bearer <token>."),
    ),
    exceptions.AuthenticationFailed: ("token-invalid", _("The access token is not valid.")),
    exceptions.NotFound: ("not-found", _("Not found.")),
    exceptions.MethodNotAllowed: ("method-not-allowed", _("The method %(method)s is not allowed here.")),
    exceptions.NotAcceptable: (
        "not-acceptable",
        _("This server answers only FHIR JSON (application/fhir+json or application/json)."),
    ),
    exceptions.UnsupportedMediaType: (
        "unsupported-media-type",
        _("The content type %(type)s is not supported; send application/fhir+json."),
    ),
    exceptions.Throttled: ("throttled", _("Too many requests; try again later.")),
}


def _said(exc: Exception, context: dict[str, Any]) -> Said:
    said = getattr(exc, "said", None)
    if isinstance(said, Said):
        return said
    request = context.get("request")
    if isinstance(exc, exceptions.PermissionDenied):
        view = context.get("view")
        scopes = [
            getattr(settings, p.setting) for p in getattr(view, "permission_classes", ()) if getattr(p, "setting", "")
        ]
        return Said("scope-missing", _("The access token lacks the scope %(scope)s."), scope=" ".join(scopes) or "?")
    for kind, (code, message) in _GENERIC.items():
        if isinstance(exc, kind):
            values = {
                "method": getattr(request, "method", ""),
                "type": getattr(request, "content_type", "") or "?",
            }
            needed = {k: v for k, v in values.items() if f"%({k})s" in str(message)}
            return Said(code, message, **needed)
    return Said("error", _("The request could not be answered."))


UNAVAILABLE = _(
    "The service cannot reach its database just now (for example while it switches to its standby "
    "server), so nothing is returned. Try again in %(seconds)s seconds; sending the same request again is safe."
)


def unavailable_outcome(language: str) -> dict[str, Any]:
    """The OperationOutcome of a 503 for a database that cannot be reached (sharing.core.outage)."""
    said = Said("database-unavailable", UNAVAILABLE, seconds=retry_after())
    return said.outcome(language, "transient", severity="fatal")


def fhir_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from rest_framework.views import exception_handler  # imports the parsers, which import this module

    request = context.get("request")
    if database_unavailable(exc):  # a failover or a restart: 503 with Retry-After, never 500
        log_unavailable(exc, method=getattr(request, "method", ""), path=getattr(request, "path", ""))
        language = language_of(request) if request is not None else settings.LANGUAGE_CODE
        return Response(unavailable_outcome(language), status=503, headers={"Retry-After": retry_after()})
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = _CODES.get(response.status_code, "processing")
    language = language_of(request) if request is not None else settings.LANGUAGE_CODE
    response.data = _said(exc, context).outcome(language, code)
    return response
