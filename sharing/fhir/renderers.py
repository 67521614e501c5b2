"""FHIR JSON in and out through DRF's extension points."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.renderers import BaseRenderer

from sharing.core.jsontext import fast_json

FHIR_JSON = "application/fhir+json"


class Prerendered(bytes):
    """An answer already serialised as FHIR JSON (a search Bundle around the stored resources' text)."""


class FHIRJSONRenderer(BaseRenderer):
    media_type = FHIR_JSON
    format = "json"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if isinstance(data, Prerendered):  # serialised already, stored resources spliced in as text
            return bytes(data)
        fast = fast_json(data)  # a Bundle of 1,000 answers in a fraction of json's time
        if fast is not None:
            return fast
        # "replace": a stray unpaired surrogate in an echoed value must not turn an answer into a 500.
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


class JSONAsFHIRRenderer(FHIRJSONRenderer):
    """Clients that ask for plain application/json get the same body."""

    media_type = "application/json"
