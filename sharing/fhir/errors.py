"""Every API error leaves as an OperationOutcome.

The API's own words (docs/fhir-api.md, "Errors"): `diagnostics` and `details.text` in the caller's
language (Norwegian, or English when Accept-Language prefers it) and a stable code in
`details.coding` (system ERROR_SYSTEM) that a client can act on whatever the language.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response

if TYPE_CHECKING:
    from rest_framework.request import Request

from sharing.fhir.observation.issues import Issue

Severity = Literal["fatal", "error", "warning", "information"]


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": issue.severity,
                "code": issue.code,
                "diagnostics": issue.diagnostics,
                **({"expression": [issue.expression]} if issue.expression else {}),
            }
            for issue in issues
        ],
    }


def outcome(severity: Severity, code: str, diagnostics: str, expression: str = "") -> dict[str, Any]:
    return operation_outcome([Issue(severity=severity, code=code, expression=expression, diagnostics=diagnostics)])


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


# The stable machine codes of the API's own errors (a refusal's codes are in access-denial).
ERROR_SYSTEM = "https://maaledata.no/fhir/CodeSystem/api-error"


def language_of(request: HttpRequest | Request) -> str:
    """Norwegian unless the caller's Accept-Language prefers English."""
    return translation.get_language_from_request(getattr(request, "_request", request))


class Said:
    """A message the API words in the caller's language: a stable code, a gettext text and its values."""

    def __init__(self, code: str, message: Any, **values: Any) -> None:
        self.code, self.message, self.values = code, message, values

    def text(self, language: str) -> str:
        with translation.override(language):
            return str(self.message) % self.values if self.values else str(self.message)

    def __str__(self) -> str:
        return self.text("en")

    def outcome(self, language: str, issue_code: str, severity: Severity = "error", **extra: Any) -> dict[str, Any]:
        """The OperationOutcome: `issue_code` from FHIR's IssueType, our code in details.coding."""
        text = self.text(language)
        issue = {
            "severity": severity,
            "code": issue_code,
            "details": {"coding": [{"system": ERROR_SYSTEM, "code": self.code}], "text": text},
            "diagnostics": text,
            **extra,
        }
        return {"resourceType": "OperationOutcome", "issue": [issue]}


def coded(exc_class: type[exceptions.APIException], code: str, message: Any, **values: Any) -> exceptions.APIException:
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
            own_words = kind in (exceptions.ParseError, exceptions.NotFound, exceptions.AuthenticationFailed)
            if own_words and isinstance(exc, exceptions.APIException) and str(exc.detail) != str(exc.default_detail):
                # Words of our own, not yet coded (the system side's validation): kept as they are.
                return Said(code, "%(detail)s", detail=str(exc.detail))
            values = {
                "method": getattr(request, "method", ""),
                "type": getattr(request, "content_type", "") or "?",
            }
            needed = {k: v for k, v in values.items() if f"%({k})s" in str(message)}
            return Said(code, message, **needed)
    return Said("error", _("The request could not be answered."))


def fhir_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from rest_framework.views import exception_handler  # imports the parsers, which import this module

    response = exception_handler(exc, context)
    if response is None:
        return None
    code = _CODES.get(response.status_code, "processing")
    request = context.get("request")
    language = language_of(request) if request is not None else settings.LANGUAGE_CODE
    response.data = _said(exc, context).outcome(language, code)
    return response
