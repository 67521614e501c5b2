"""Every API error leaves as an OperationOutcome."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

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


def fhir_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = _CODES.get(response.status_code, "processing")
    response.data = outcome("error", code, str(detail))
    return response
