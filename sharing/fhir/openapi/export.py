"""The Bulk Data $export paths (return of data): kick-off, status, files."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .components import ref

EXPORT = [{"helseidSystem": [settings.FHIR_SCOPE_EXPORT]}]
JOB_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": {"type": "string"}}


def export_paths() -> dict[str, Any]:
    errors = {code: ref("responses", code) for code in ("400", "401", "403", "503")}
    found = {code: ref("responses", code) for code in ("401", "403", "404")}
    gone = {**found, "410": ref("responses", "410")}
    return {
        "/fhir/$export": {
            "get": {
                "operationId": "export",
                "summary": "Bulk Data export of the client's own municipality's Observations (return of data)",
                "security": EXPORT,
                "parameters": [
                    {
                        "name": "Prefer",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "const": "respond-async"},
                    },
                    _query("_type", "Observation (the only type)."),
                    _query("_since", "Only Observations stored or changed at or after this FHIR instant."),
                    _query("_outputFormat", "application/fhir+ndjson (the only format)."),
                ],
                "responses": {
                    "202": {
                        "description": "Accepted; poll Content-Location.",
                        "headers": {"Content-Location": {"required": True, "schema": {"type": "string"}}},
                    },
                    **errors,
                },
            }
        },
        "/fhir/$export-status/{id}": {
            "get": {
                "operationId": "export-status",
                "summary": "The export's manifest (200), or 202 while it runs",
                "security": EXPORT,
                "parameters": [JOB_ID],
                "responses": {
                    "200": {"description": "The Bulk Data manifest.", "content": {"application/json": {}}},
                    "202": {"description": "Still running."},
                    **gone,
                },
            },
            "delete": {
                "operationId": "export-delete",
                "summary": "Remove the export and its files",
                "security": EXPORT,
                "parameters": [JOB_ID],
                "responses": {"202": {"description": "Removed."}, **found},
            },
        },
        "/fhir/$export-file/{id}": {
            "get": {
                "operationId": "export-file",
                "summary": "One NDJSON file of the export",
                "security": EXPORT,
                "parameters": [JOB_ID],
                "responses": {
                    "200": {"description": "One Observation per line.", "content": {"application/fhir+ndjson": {}}},
                    **gone,
                },
            }
        },
    }
