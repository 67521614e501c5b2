"""The CapabilityStatement: exactly what the API supports today, nothing more.

Ingest part (this module's owner): create (conditional with ``If-None-Exist:
identifier=system|value``), update-or-create by the sender's id, and batch/transaction
Bundles at the base. Other interactions (search, read, AuditEvent) add themselves through
``OBSERVATION_INTERACTIONS`` / ``RESOURCES`` when they exist.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from sharing.fhir.observation.profiles import LEGACY_BASES, PROFILES

from .bundles import REQUEST_PROFILE, RESPONSE_PROFILE

OBSERVATION_INTERACTIONS: list[dict[str, Any]] = [
    {"code": "create", "documentation": "A re-sent Observation (same identifier, id or content) changes nothing."},
    {"code": "update", "documentation": "PUT Observation/{id} with the sender's id: update or create."},
    {
        "code": "read",
        "documentation": "GET Observation/{id} (our UUID): the resource as received plus ingest-flag extensions, "
        "meta.versionId and meta.lastUpdated; ETag and Last-Modified, 304 on If-None-Match or If-Modified-Since; "
        "404 for missing and forbidden alike. Needs a DPoP-bound user token.",
    },
    {
        "code": "vread",
        "documentation": "GET Observation/{id}/_history/{vid}: one version, a withdrawal (entered-in-error) included.",
    },
    {
        "code": "history-instance",
        "documentation": "GET Observation/{id}/_history: every version the caller may see, newest first, a "
        "withdrawal (entered-in-error) included, so a system that keeps a copy learns it was withdrawn.",
    },
    {
        "code": "search-type",
        "documentation": "GET Observation or POST Observation/_search (form-encoded), for one patient. Every call "
        "goes through the access decision and is logged first; X-Access-Basis and X-Access-Reason headers.",
    },
]
OBSERVATION_SEARCH_PARAMS: list[dict[str, str]] = [
    {"name": "patient.identifier", "type": "token", "documentation": "Required: system|value (FNR, DNR, FHN)."},
    {"name": "patient:identifier", "type": "token", "documentation": "The same as patient.identifier."},
    {"name": "subject.identifier", "type": "token", "documentation": "The same as patient.identifier."},
    {"name": "subject:Patient.identifier", "type": "token", "documentation": "The same as patient.identifier."},
    {"name": "_id", "type": "token", "documentation": "Our ids, comma for OR."},
    {"name": "_elements", "type": "string", "documentation": "Top-level elements; tagged SUBSETTED."},
    {"name": "_total", "type": "token", "documentation": "none, estimate, accurate: the total is always exact."},
    {"name": "_totalMethod", "type": "token", "documentation": "The same as _total (fhirpy's count())."},
    {"name": "_format", "type": "token", "documentation": "json, application/fhir+json or application/json."},
    {"name": "code", "type": "token", "documentation": "system|code, comma for OR; a profile's code finds its kind."},
    {
        "name": "category",
        "type": "token",
        "documentation": "vital-signs, survey, laboratory, with or without the observation-category system.",
    },
    {"name": "date", "type": "date", "documentation": "ge, le, gt, lt, eq (or pre-R4 >=, <=, >, <); repeatable."},
    {"name": "status", "type": "token", "documentation": "Comma for OR."},
    {"name": "_count", "type": "number", "documentation": "1-1000 (default 50); 0 gives the total only."},
    {
        "name": "_lastUpdated",
        "type": "date",
        "documentation": "gt, ge, lt, le + instant or date: when the stored version arrived (meta.lastUpdated); "
        "repeatable. Withdrawn (entered-in-error) measurements are found too: the incremental sync.",
    },
    {"name": "_sort", "type": "string", "documentation": "-date (default), date, _lastUpdated or -_lastUpdated."},
    {"name": "_summary", "type": "token", "documentation": "count, true, data or false."},
]
AUDITEVENT_SEARCH_PARAMS: list[dict[str, str]] = [
    {"name": "patient.identifier", "type": "token", "documentation": "system|value"},
    {"name": "date", "type": "date", "documentation": "ge, le, gt, lt, eq (or pre-R4 >=, <=, >, <); repeatable."},
    {"name": "outcome", "type": "token", "documentation": "Comma for OR."},
    {"name": "subtype", "type": "token", "documentation": "Event code, e.g. patient.lookup."},
    {"name": "_count", "type": "number", "documentation": "Page size, 1-200 (default 50)."},
    {"name": "_page", "type": "number", "documentation": "Page number, from 1."},
]
SYSTEM_INTERACTIONS: list[dict[str, Any]] = [
    {
        "code": "batch",
        "documentation": f"Bundle type batch ({REQUEST_PROFILE}), answered per entry ({RESPONSE_PROFILE}).",
    },
    {"code": "transaction", "documentation": "Bundle type transaction: all entries are stored, or none."},
]
RESOURCES: list[dict[str, Any]] = []  # further resource types (e.g. AuditEvent) append themselves here


def _observation() -> dict[str, Any]:
    return {
        "type": "Observation",
        "supportedProfile": sorted({p.url for p in PROFILES}),
        "documentation": (
            "VkpObservation (HL7 Norway 0.5.2). Observations are classified by code, not meta.profile; the legacy "
            f"canonicals {', '.join(LEGACY_BASES)} are accepted. See docs/ingest.md for what is rejected and flagged."
        ),
        "interaction": list(OBSERVATION_INTERACTIONS),
        "searchParam": list(OBSERVATION_SEARCH_PARAMS),
        "operation": [
            {
                "name": "lastn",
                "definition": "http://hl7.org/fhir/OperationDefinition/Observation-lastn",
                "documentation": "GET Observation/$lastn?patient.identifier=...&max=N: the latest N per code.",
            }
        ],
        "versioning": "versioned",
        "readHistory": False,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
    }


def statement(base_url: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-25",
        "kind": "instance",
        "software": {"name": "Måledata portal"},
        "implementation": {"description": "Måledata data-sharing service", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ],
                            "text": "HelseID access tokens: client credentials for ingest; DPoP-bound user "
                            "tokens (RFC 9449) for reads. See docs/fhir-api.md.",
                        }
                    ]
                },
                "resource": [
                    _observation(),
                    {
                        "type": "AuditEvent",
                        "documentation": "The access log shaped after IHE BALP, for auditors' systems "
                        f"(scope {settings.FHIR_SCOPE_AUDITEVENT_READ}). See docs/audit.md.",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": list(AUDITEVENT_SEARCH_PARAMS),
                    },
                    *RESOURCES,
                ],
                "interaction": list(SYSTEM_INTERACTIONS),
                # Return of data: the client's own municipality's Observations (docs/fhir-api.md).
                "operation": [
                    {
                        "name": "export",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                        "documentation": f"Bulk Data export (scope {settings.FHIR_SCOPE_EXPORT}) of the "
                        "municipality's own Observations, for its own system; _type=Observation, _since.",
                    }
                ],
            }
        ],
    }
