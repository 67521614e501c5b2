"""The shared parts of the FHIR API's description: FHIR resource schemas, error answers, security."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from ..build import observation
from .parameters import KARI

FHIR_MEDIA_TYPES = ("application/fhir+json", "application/json")


def ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def fhir(schema: str) -> dict[str, Any]:
    """FHIR JSON content; plain application/json is the same body, for clients that ask for it."""
    return {media: {"schema": ref("schemas", schema)} for media in FHIR_MEDIA_TYPES}


def _outcome(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": fhir("OperationOutcome"), **extra}


def example_observation(number: int = 1, value: float = 72) -> dict[str, Any]:
    return observation(
        kind="heart_rate",
        patient=KARI,
        patient_name="Kari Nordmann",
        effective=dt.datetime(2026, 11, 1, 8, 30 + number, tzinfo=dt.UTC),
        value=value,
        municipality_orgnr="311111019",  # Oslo kommune, the demo data's controller
        identifier=f"6f1c2b7e-0000-4000-8000-{number:012d}",
    )


# --- Schemas ----------------------------------------------------------------------------------


def _resource(resource_type: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"const": resource_type}, **properties},
    }


def schemas() -> dict[str, Any]:
    coding = {"type": "object", "properties": {k: {"type": "string"} for k in ("system", "code", "display")}}
    identifier = {"type": "object", "properties": {"system": {"type": "string"}, "value": {"type": "string"}}}
    text = {"type": "string"}
    quantity = {
        "type": "object",
        "properties": {"value": {"type": "number"}, "unit": text, "system": text, "code": text},
    }
    concept = {"type": "object", "properties": {"coding": {"type": "array", "items": coding}, "text": text}}
    statuses = ["registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error"]
    entry = {
        "type": "object",
        "required": ["fullUrl", "request", "resource"],
        "properties": {
            "fullUrl": {"type": "string"},
            "resource": ref("schemas", "Observation"),
            "request": {
                "type": "object",
                "required": ["method", "url"],
                "properties": {
                    "method": {"enum": ["POST", "PUT"]},
                    "url": {"type": "string"},
                    "ifNoneExist": {"type": "string"},
                },
            },
        },
    }
    return {
        "OperationOutcome": _resource(
            "OperationOutcome",
            issue={
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["severity", "code"],
                    "properties": {
                        "severity": {"enum": ["fatal", "error", "warning", "information"]},
                        "code": {"type": "string", "description": "FHIR's IssueType"},
                        "details": {
                            "type": "object",
                            "description": "coding: our stable code (system https://maaledata.no/fhir/CodeSystem/"
                            "api-error, or access-denial for a refusal); text: as diagnostics",
                            "properties": {"coding": {"type": "array", "items": coding}, "text": {"type": "string"}},
                        },
                        "diagnostics": {
                            "type": "string",
                            "description": "Norwegian (bokmål), or English when Accept-Language prefers en",
                        },
                        "expression": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        )
        | {"required": ["resourceType", "issue"]},
        "Observation": _resource(
            "Observation",
            identifier={"type": "array", "items": identifier},
            status={"enum": statuses},
            category={"type": "array", "items": concept},
            code=concept,
            subject={"type": "object", "properties": {"identifier": identifier, "display": {"type": "string"}}},
            effectiveDateTime={"type": "string"},
            valueQuantity=quantity,
            component={
                "type": "array",
                "items": {"type": "object", "properties": {"code": concept, "valueQuantity": quantity}},
            },
            performer={"type": "array", "items": {"type": "object", "properties": {"identifier": identifier}}},
        )
        | {
            "description": "A VkpObservation (HL7 Norway); the profile rules are checked on receipt (docs/ingest.md).",
            "required": ["resourceType", "status", "code"],
            "examples": [example_observation()],
        },
        "Bundle": _resource(
            "Bundle",
            type={"enum": ["batch", "transaction"]},
            entry={"type": "array", "items": entry},
        )
        | {
            "required": ["resourceType", "type"],
            "description": f"batch (pmd-Bundle-Observation) or transaction; more than "
            f"{settings.FHIR_MAX_BUNDLE_ENTRIES} entries get 413.",
            "examples": [
                {
                    "resourceType": "Bundle",
                    "type": "batch",
                    "entry": [
                        {
                            "fullUrl": "urn:uuid:6f1c2b7e-0000-4000-8000-000000000002",
                            "resource": example_observation(2, 74),
                            "request": {"method": "POST", "url": "Observation"},
                        }
                    ],
                }
            ],
        },
        "BundleResponse": _resource(
            "Bundle",
            type={"enum": ["batch-response", "transaction-response"]},
            entry={"type": "array", "items": {"type": "object", "required": ["response"]}},
        )
        | {"required": ["resourceType", "type", "entry"]},
        "Searchset": _resource(
            "Bundle",
            type={"const": "searchset"},
            total={"type": "integer", "minimum": 0},
            link={"type": "array", "items": {"type": "object", "required": ["relation", "url"]}},
            entry={"type": "array", "items": {"type": "object", "required": ["resource"]}},
        )
        | {"required": ["resourceType", "type", "link"]},
        "CapabilityStatement": _resource("CapabilityStatement") | {"required": ["resourceType", "rest"]},
    }


def error_responses() -> dict[str, Any]:
    limit = settings.FHIR_MAX_BODY_BYTES
    return {
        "304": {
            "description": "Not modified: If-None-Match names this version, or If-Modified-Since is not before it. "
            "No body; ETag and Last-Modified as for 200. The read is decided and logged all the same.",
            "headers": {
                "ETag": {"required": True, "schema": {"type": "string"}, "description": 'W/"{versionId}"'},
                "Last-Modified": {
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "meta.lastUpdated, HTTP date",
                },
            },
        },
        "400": _outcome(
            "The request is malformed or names something unsupported; the issues say what. A read on a "
            "basis that needs a reason (consent, emergency) without X-Access-Reason is refused with code "
            "required and details.coding reason-required."
        ),
        "401": _outcome(
            "No token, or the token or DPoP proof is invalid.",
            headers={"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
        ),
        "403": _outcome(
            "The token lacks the scope, or its organisation may not do this; or (reads) the access decision "
            "refuses the caller whoever the patient is, coded in issue.details "
            "(https://maaledata.no/fhir/CodeSystem/access-denial: not-clinician, no-hpr, security-level, "
            "no-organisation, no-agreement, unit-not-covered, basis-not-allowed). A search for a patient "
            "with nothing shared, or who has reserved themselves, is an empty searchset, not an error."
        ),
        "404": _outcome(
            "No such resource, or you may not see it (a denied read by id is logged and answered the same); "
            "or the URL names nothing, e.g. an id that is not a FHIR id. A search never answers 404."
        ),
        "405": _outcome(
            "A transaction whose first failing entry uses a method other than POST or PUT.",
        ),
        "406": _outcome("Accept names neither application/fhir+json nor application/json."),
        "409": _outcome("The identifier or id belongs to a measurement of another patient or kind."),
        "410": _outcome("The export's files were removed after EXPORT_RETENTION_HOURS; start a new export."),
        "413": _outcome(f"The body is larger than {limit} bytes, or the Bundle has too many entries."),
        "415": _outcome("The body is not application/fhir+json or application/json."),
        "429": _outcome("Too many lookups by this person in the last hour; the refusal is logged for review."),
        "503": _outcome(
            "The database cannot be reached just now (a failover or a restart; code transient, details.coding "
            "database-unavailable), or the access could not be logged (audit-unavailable): nothing is returned. "
            "Retry-After says when to try again; a write sent again is stored once.",
            headers={"Retry-After": {"required": True, "schema": {"type": "integer"}, "description": "seconds"}},
        ),
    }


SECURITY_SCHEMES: dict[str, Any] = {
    "helseidSystem": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A HelseID client-credentials access token for a system "
        f"(audience {settings.FHIR_API_AUDIENCE}), "
        "sent as Bearer, or as DPoP with a DPoP proof when it is DPoP-bound (cnf.jkt). "
        "Its organisation (orgnr_parent) is the municipality written for, or the audit system's owner.",
    },
    "helseidUser": {
        "type": "http",
        "scheme": "DPoP",
        "description": "Authorization: DPoP <token>: a HelseID access token issued to a person (pid, HPR "
        "number, security level) through the calling system, bound to its key (cnf.jkt, RFC 9449).",
    },
    "dpopProof": {
        "type": "apiKey",
        "in": "header",
        "name": "DPoP",
        "description": "A fresh DPoP proof for every call: signed with the bound key, naming the method "
        "(htm), the URL without query (htu), the token hash (ath), a unique jti and an iat at most 60 "
        "seconds old. A proof is accepted once.",
    },
}
