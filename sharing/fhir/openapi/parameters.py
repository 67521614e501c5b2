"""The parameters of the FHIR API's operations: the names written out, checked against the code by tests."""

from __future__ import annotations

import re
from typing import Any

from sharing.core.basis import Basis
from sharing.identifiers import SYSTEM_DNR, SYSTEM_FHN, SYSTEM_FNR

from .. import auditevent, search
from ..userauth import MAX_REASON_LENGTH

FHIR_ID = r"^[A-Za-z0-9\-.]{1,64}$"
_SYSTEMS = "|".join(re.escape(system) for system in (SYSTEM_FNR, SYSTEM_DNR, SYSTEM_FHN))
PATIENT_TOKEN = rf"^(({_SYSTEMS})\|)?[0-9]{{11}}$"
_PREFIX = "(ge|le|gt|lt|eq|>=|<=|>|<)?"
_TIME = r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?"
DATE = rf"^{_PREFIX}[0-9]{{4}}(-[0-9]{{2}}(-[0-9]{{2}}{_TIME})?)?$"  # year, month, day or dateTime
LAST_UPDATED = rf"^(ge|le|gt|lt)[0-9]{{4}}(-[0-9]{{2}}(-[0-9]{{2}}{_TIME})?)?$"
AUDIT_DATE = rf"^{_PREFIX}[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{_TIME}$"  # day or dateTime
KARI = "30875928763"  # a demo patient (synthetic Tenor number)


def _param(name: str, where: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": schema, "description": description, **extra}


def _query(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    if schema.get("type") == "array":
        extra = {"style": "form", "explode": True, **extra}
    return _param(name, "query", schema, description, **extra)


def _repeatable(pattern: str, example: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string", "pattern": pattern}, "examples": [[example]]}


PATIENT = {"type": "string", "pattern": PATIENT_TOKEN, "examples": [f"{SYSTEM_FNR}|{KARI}"]}
_CATEGORY = rf"(({re.escape(search.CATEGORY_SYSTEM)})?\|)?(vital-signs|survey|laboratory)"
CATEGORY = rf"^{_CATEGORY}(,{_CATEGORY})*$"
OBSERVATION_SEARCH: dict[str, dict[str, Any]] = {
    "patient.identifier": _query(
        "patient.identifier",
        PATIENT,
        "The patient: system|value with the fødselsnummer, D-number or FHN system, or the bare 11 digits. "
        "Every search is for one patient, so this (or patient:identifier) must be given, once.",
    ),
    "patient:identifier": _query("patient:identifier", PATIENT, "The same as patient.identifier; give one of them."),
    "subject.identifier": _query("subject.identifier", PATIENT, "The same as patient.identifier; give one of them."),
    "subject:Patient.identifier": _query(
        "subject:Patient.identifier", PATIENT, "The same as patient.identifier; give one of them."
    ),
    "_id": _query(
        "_id",
        _repeatable(r"^[^,]+(,[^,]+)*$", "0b0e8a9c-4a57-4d3a-9a43-1f0f7c9b2d11"),
        "Our ids (UUIDs), comma for OR; within the patient's measurements (fhirpy's .get(id=)).",
    ),
    "_elements": _query(
        "_elements",
        {"type": "string", "pattern": r"^[A-Za-z\[\]]+(,[A-Za-z\[\]]+)*$", "examples": ["status,code,value[x]"]},
        "Top-level elements to return (id, meta and resourceType always); the resources are tagged SUBSETTED.",
    ),
    "_total": _query(
        "_total",
        {"type": "string", "enum": list(search.TOTALS)},
        "Accepted; the total is always exact (one patient's measurements).",
    ),
    "_totalMethod": _query(
        "_totalMethod", {"type": "string", "enum": list(search.TOTALS)}, "The same as _total (fhirpy's count())."
    ),
    "_format": _query(
        "_format",
        {"type": "string", "enum": list(search.JSON_FORMATS)},
        "FHIR JSON only; the answer is application/fhir+json.",
    ),
    "code": _query(
        "code",
        _repeatable(r"^[^,]+(,[^,]+)*$", "http://loinc.org|8867-4"),
        "system|code, comma for OR. A LOINC, SNOMED CT or NPU code of a VKP profile matches every measurement "
        "of that kind, whichever code the sender used.",
    ),
    "category": _query("category", _repeatable(CATEGORY, "vital-signs"), "Comma for OR; repeatable (AND)."),
    "date": _query(
        "date",
        _repeatable(DATE, "ge2026-01-01"),
        "Prefix (ge, le, gt, lt, eq; or the pre-R4 >=, <=, >, <) + FHIR date or dateTime; repeatable (AND).",
    ),
    "status": _query("status", _repeatable(r"^[^,]*(,[^,]*)*$", "final"), "Observation status, comma for OR."),
    "_count": _query(
        "_count",
        {"type": "integer", "minimum": 0, "maximum": search.MAX_COUNT},
        f"Page size (default {search.DEFAULT_COUNT}); 0 returns only the total.",
    ),
    "_lastUpdated": _query(
        "_lastUpdated",
        _repeatable(LAST_UPDATED, "gt2026-12-01T08:00:00Z"),
        "gt, ge, lt or le + FHIR instant or date: when the stored version arrived (meta.lastUpdated); repeatable "
        "(AND). Finds withdrawn (entered-in-error) measurements too, so a poller learns of a withdrawal.",
    ),
    "_sort": _query(
        "_sort",
        {"type": "string", "enum": ["-date", "date", "_lastUpdated", "-_lastUpdated"]},
        "By effective time, newest first (default) or oldest first; or by meta.lastUpdated (then id).",
    ),
    "_summary": _query(
        "_summary",
        {"type": "string", "enum": list(search.SUMMARIES)},
        "count: only the total; true: the summary elements; data: all but text; false: everything.",
    ),
    search.CURSOR: _query(
        search.CURSOR,
        {"type": "string"},
        "From the next link: signed and bound to the exact search and caller; an edited or moved one is refused.",
    ),
}
LASTN_MAX = _query("max", {"type": "integer", "minimum": 1, "maximum": 100}, "How many per code (default 1).")
AUDITEVENT_SEARCH: dict[str, dict[str, Any]] = {
    "patient.identifier": _query("patient.identifier", PATIENT, "Events about this patient: system|value or value."),
    "date": _query(
        "date", _repeatable(AUDIT_DATE, "ge2026-01-01"), "ge, gt, le, lt or eq + date or dateTime; repeatable."
    ),
    "outcome": _query(
        "outcome",
        {"type": "string", "pattern": r"^(0|4|8|12)(,(0|4|8|12))*$"},
        "0 success, 4 minor failure (denied), 8 serious failure, 12 major failure; comma for OR.",
    ),
    "subtype": _query("subtype", {"type": "string"}, "Our event code (e.g. api.search), optionally system|code."),
    "_count": _query("_count", {"type": "integer", "minimum": 1, "maximum": auditevent.MAX_COUNT}, "Page size."),
    "_page": _query("_page", {"type": "integer", "minimum": 1, "maximum": 10_000}, "Page number (from next links)."),
}
VERSION_ID = _param(
    "vid",
    "path",
    {"type": "string", "pattern": "^[0-9]{1,9}$", "examples": ["2"]},
    "The version (meta.versionId): 1 as first received, one more for each correction or withdrawal.",
    required=True,
)
CONDITIONAL_READ = [
    _param("If-None-Match", "header", {"type": "string", "examples": ['W/"2"']}, "304 if it names this version."),
    _param(
        "If-Modified-Since",
        "header",
        {"type": "string", "examples": ["Wed, 02 Dec 2026 08:00:00 GMT"]},
        "304 if the version is not newer (ignored when If-None-Match is sent).",
    ),
]
READ_HEADERS = [
    _param(
        "X-Access-Basis",
        "header",
        {"type": "string", "enum": [b.value for b in Basis]},
        "The access basis (default care); consent and emergency need X-Access-Reason.",
    ),
    _param("X-Access-Reason", "header", {"type": "string", "maxLength": MAX_REASON_LENGTH}, "Why; free text."),
    _param("X-Request-Id", "header", {"type": "string"}, "The caller's correlation id (first 64 characters logged)."),
]
PREFER = _param(
    "Prefer",
    "header",
    {"type": "string", "enum": ["return=representation", "return=minimal", "return=OperationOutcome"]},
    "What a successful write answers with: the stored Observation (default), nothing, or the issues.",
)
IF_NONE_EXIST = _param(
    "If-None-Exist",
    "header",
    {"type": "string", "examples": ["identifier=urn:ietf:rfc:3986|urn:uuid:6f1c2b7e-0000-4000-8000-000000000001"]},
    "Conditional create: identifier=system|value; if the sender's own Observation exists, nothing is stored.",
)
OBSERVATION_ID = _param(
    "id",
    "path",
    {"type": "string", "pattern": FHIR_ID, "examples": ["vkp-hr-20261101-0833"]},
    "Read: our UUID. PUT: the sender's own FHIR id.",
    required=True,
)
