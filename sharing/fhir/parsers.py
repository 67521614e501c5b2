"""FHIR JSON in: bounded in size before it is read, parsed without NaN, depth bounded by the C parser."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from .errors import coded
from .renderers import FHIR_JSON

TOO_LARGE = _("The request body is larger than %(limit)s bytes.")


class RequestTooLarge(ParseError):
    status_code = 413
    default_detail = "The request body is larger than this server accepts."
    default_code = "too-long"


class FHIRJSONParser(BaseParser):
    media_type = FHIR_JSON

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.FHIR_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        # Refused on the declared length, before a byte is read; a body without one is read
        # only up to the limit.
        if str(declared).isdigit() and int(declared) > limit:
            raise coded(RequestTooLarge, "too-large", TOO_LARGE, limit=limit)
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise coded(RequestTooLarge, "too-large", TOO_LARGE, limit=limit)
        try:
            # json's C scanner stops at the interpreter's recursion limit (RecursionError), so
            # nesting cannot exhaust the stack; the guard then bounds depth to 32 per resource.
            return json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise coded(
                ParseError, "json-invalid", _("The body is not valid JSON (%(reason)s)."), reason=str(exc)[:200]
            ) from exc


class PlainJSONParser(FHIRJSONParser):
    media_type = "application/json"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")
