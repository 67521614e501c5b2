"""The OpenAPI 3.1 description of the FHIR API, written by hand and served at /fhir/openapi.json.

Written rather than generated (docs/adr/0004-openapi-written-by-hand.md): the API's views parse
FHIR JSON and query strings themselves, share paths through ``views.by_method`` and answer with
FHIR resources, so a generator would see little of it. Instead the parameter names are written
out here and ``tests/sharing/fhir/test_openapi.py`` holds them to the URL configuration and to the
sets the search code accepts, and schemathesis drives the live API from this description
(``tests/sharing/fhir/test_openapi_fuzz.py``): if the two drift apart, a test fails.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .. import search
from .components import FHIR_MEDIA_TYPES, SECURITY_SCHEMES, error_responses, example_observation, fhir, ref, schemas
from .export import export_paths
from .parameters import (
    AUDITEVENT_SEARCH,
    CONDITIONAL_READ,
    IF_NONE_EXIST,
    LASTN_MAX,
    OBSERVATION_ID,
    OBSERVATION_SEARCH,
    PREFER,
    READ_HEADERS,
    VERSION_ID,
)

__all__ = ["OBSERVATION_ID", "document"]


# The scopes as registered in HelseID (portal/settings.py, from FHIR_API_AUDIENCE).
WRITE = [{"helseidSystem": [settings.FHIR_SCOPE_OBSERVATION_WRITE]}]
READ = [{"helseidUser": [settings.FHIR_SCOPE_OBSERVATION_READ], "dpopProof": []}]
WRITE_ERRORS = ("400", "401", "403", "406", "409", "413", "415", "503")
# A read by id answers 404 for anything not visible; a search never does (an empty searchset, or a
# coded 403/400 refusal that says nothing about the patient) but is a lookup under the hourly limit.
READ_ERRORS = ("400", "401", "403", "404", "406", "503")
SEARCH_ERRORS = ("400", "401", "403", "406", "429", "503")
WRITTEN_HEADERS = {
    "Location": {"required": True, "schema": {"type": "string"}, "description": "Observation/{our id}"},
    "ETag": {"required": True, "schema": {"type": "string"}, "description": 'W/"{version}"'},
}


def _responses(ok: dict[str, Any], *errors: str) -> dict[str, Any]:
    return {**ok, **{code: ref("responses", code) for code in errors}}


def _written(description: str) -> dict[str, Any]:
    return {
        "description": description + " The body follows Prefer: the Observation as stored (default), the "
        "issues (return=OperationOutcome), or none at all (return=minimal: no body and no Content-Type).",
        "headers": WRITTEN_HEADERS,
        "content": {media: {"schema": {"type": "object"}} for media in FHIR_MEDIA_TYPES},
    }


def _body(schema: str, example: dict[str, Any] | None = None) -> dict[str, Any]:
    content = fhir(schema)
    if example is not None:
        for media in content.values():
            media["example"] = example
    return {"required": True, "content": content}


def _op(operation_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"operationId": operation_id, "summary": summary, "responses": responses, **extra}


def _batch(operation_id: str) -> dict[str, Any]:
    return _op(
        operation_id,
        "Batch or transaction Bundle of Observations (ingest)",
        _responses(
            {"200": {"description": "One response entry per request entry.", "content": fhir("BundleResponse")}},
            *WRITE_ERRORS,
            "405",  # a transaction whose first failing entry asks for another method
        ),
        security=WRITE,
        requestBody=_body("Bundle"),
    )


VERSIONED_HEADERS = {
    "ETag": {"required": True, "schema": {"type": "string"}, "description": 'W/"{versionId}"'},
    "Last-Modified": {"required": True, "schema": {"type": "string"}, "description": "meta.lastUpdated, HTTP date"},
}


def _versioned(description: str) -> dict[str, Any]:
    return {"200": {"description": description, "headers": VERSIONED_HEADERS, "content": fhir("Observation")}}


def _search_ok() -> dict[str, Any]:
    return {"200": {"description": "A searchset Bundle; follow the next link for more.", "content": fhir("Searchset")}}


def _paths() -> dict[str, Any]:
    search_params = list(OBSERVATION_SEARCH.values())
    form = {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: p["schema"] for name, p in OBSERVATION_SEARCH.items()},
    }
    encoding = {name: {"style": "form", "explode": True} for name, p in OBSERVATION_SEARCH.items()}
    return {
        "/fhir": {"post": _batch("batch")},
        "/fhir/": {"post": _batch("batch-slash")},
        "/fhir/metadata": {
            "get": _op(
                "capabilities",
                "The CapabilityStatement (public)",
                _responses(
                    {"200": {"description": "What the server supports.", "content": fhir("CapabilityStatement")}},
                    "406",
                ),
                security=[],
            )
        },
        "/fhir/openapi.json": {
            "get": _op(
                "openapi",
                "This description (public)",
                {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
                security=[],
            )
        },
        "/fhir/Observation": {
            "post": _op(
                "create",
                "Create an Observation (ingest); a re-send changes nothing",
                _responses(
                    {
                        "201": _written("Stored."),
                        "200": _written("Already stored, corrected, or If-None-Exist matched."),
                    },
                    *WRITE_ERRORS,
                ),
                security=WRITE,
                parameters=[IF_NONE_EXIST, PREFER],
                requestBody=_body("Observation"),
            ),
            "get": _op(
                "search",
                "Search one patient's Observations",
                _responses(_search_ok(), *SEARCH_ERRORS),
                security=READ,
                parameters=[*search_params, *READ_HEADERS],
            ),
        },
        "/fhir/Observation/_search": {
            "post": _op(
                "search-post",
                "Search with the parameters form-encoded (keeps the national identity number out of URLs)",
                _responses(_search_ok(), *SEARCH_ERRORS, "415"),
                security=READ,
                parameters=READ_HEADERS,
                requestBody={
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": form, "encoding": encoding}},
                },
            )
        },
        "/fhir/Observation/$lastn": {
            "get": _op(
                "lastn",
                "The latest max Observations per code for one patient",
                _responses(_search_ok(), *SEARCH_ERRORS),
                security=READ,
                parameters=[
                    *(p for n, p in OBSERVATION_SEARCH.items() if n != search.CURSOR),
                    LASTN_MAX,
                    *READ_HEADERS,
                ],
            )
        },
        "/fhir/Observation/{id}": {
            "parameters": [OBSERVATION_ID],
            "get": _op(
                "read",
                "Read one Observation by our id",
                _responses(_versioned("As received, under our id, with its version."), "304", *READ_ERRORS),
                security=READ,
                parameters=[*READ_HEADERS, *CONDITIONAL_READ],
            ),
            "put": _op(
                "update",
                "Update or create the sender's Observation {id} (ingest)",
                _responses(
                    {"201": _written("Created."), "200": _written("Updated or unchanged.")}, *WRITE_ERRORS, "404"
                ),
                security=WRITE,
                parameters=[PREFER],
                requestBody=_body("Observation", example=example_observation(3, 76)),
            ),
        },
        "/fhir/Observation/{id}/_history": {
            "parameters": [OBSERVATION_ID],
            "get": _op(
                "history-instance",
                "Every version of one Observation the caller may see, newest first, a withdrawal included",
                _responses(
                    {"200": {"description": "A history Bundle.", "content": fhir("Searchset")}},
                    *READ_ERRORS,
                ),
                security=READ,
                parameters=READ_HEADERS,
            ),
        },
        "/fhir/Observation/{id}/_history/{vid}": {
            "parameters": [OBSERVATION_ID, VERSION_ID],
            "get": _op(
                "vread",
                "One version of one Observation (vread), a withdrawal included",
                _responses(_versioned("That version, as received, under our id."), "304", *READ_ERRORS),
                security=READ,
                parameters=[*READ_HEADERS, *CONDITIONAL_READ],
            ),
        },
        "/fhir/AuditEvent": {
            "get": _op(
                "auditevent-search",
                "The access log as AuditEvents (IHE BALP), for audit systems",
                _responses(_search_ok(), "400", "401", "403", "406", "503"),
                security=[{"helseidSystem": [settings.FHIR_SCOPE_AUDITEVENT_READ]}],
                parameters=list(AUDITEVENT_SEARCH.values()),
            )
        },
    }


def document(server_url: str = "/") -> dict[str, Any]:
    """The description; `server_url` is where this server answers (its origin, without /fhir)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Måledata FHIR API",
            "version": "1",
            "description": "FHIR R4 (4.0.1) JSON. Ingest of VkpObservations from municipalities' systems, reads for "
            "hospital and GP systems acting for a person, and the access log for audit systems. Every error is "
            "an OperationOutcome whose issues carry a stable code in details.coding and are worded in Norwegian "
            "(bokmål), or in English when Accept-Language prefers en. See docs/fhir-api.md and GET /fhir/metadata.",
        },
        "servers": [{"url": server_url}],
        "paths": {**_paths(), **export_paths()},
        "components": {"schemas": schemas(), "responses": error_responses(), "securitySchemes": SECURITY_SCHEMES},
    }
