"""One access-log record as a FHIR R4 AuditEvent, shaped after IHE Basic Audit Log Patterns (BALP).

Reads of patient data follow BALP's PatientQuery/PatientRead: type (rest, or the DICOM event
type for portal pages), subtype (the FHIR interaction, our own event code, and DICOM 110127 for
emergency access), agents for the user (HPR number, national identity number as BALP otherId,
purposeOfUse), the organisation and unit, the client and this server, and entities for the
patient, what was made available (the query) and the request id. Changes map to DICOM security
events (roles changed, object security attributes changed), logins to User Authentication.
The stored row keeps no IP address, so the client agent has no `network`: a documented departure
from BALP's client slice.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from sharing.audit import events
from sharing.audit.models import AuditEvent
from sharing.audit.presenters import DENIAL_LABELS, made_available
from sharing.core.basis import Basis
from sharing.identifiers import SYSTEM_FNR, SYSTEM_HPR, SYSTEM_ORGNR

EVENT_CODE_SYSTEM = "urn:maaledata:audit-event"
BASIS_SYSTEM = "urn:maaledata:access-basis"
CLIENT_ID_SYSTEM = "urn:maaledata:helseid-client-id"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
BALP = "https://profiles.ihe.net/ITI/BALP"
OTHER_ID = f"{BALP}/StructureDefinition/ihe-otherId"

# event code → (type coding, subtype codings, action, BALP profile)
_REST = {"system": AUDIT_EVENT_TYPE, "code": "rest", "display": "Restful Operation"}
_TYPES: dict[str, tuple[dict[str, str], list[dict[str, str]], str, str]] = {
    events.API_SEARCH: (
        _REST,
        [{"system": RESTFUL, "code": "search-type", "display": "search-type"}],
        "E",
        "IHE.BasicAudit.PatientQuery",
    ),
    events.API_LASTN: (
        _REST,
        [{"system": RESTFUL, "code": "operation", "display": "operation"}],
        "E",
        "IHE.BasicAudit.PatientQuery",
    ),
    events.API_READ: (
        _REST,
        [{"system": RESTFUL, "code": "read", "display": "read"}],
        "R",
        "IHE.BasicAudit.PatientRead",
    ),
    events.PATIENT_LOOKUP: ({"system": DCM, "code": "110112", "display": "Query"}, [], "E", ""),
    events.PATIENT_VIEW: ({"system": DCM, "code": "110110", "display": "Patient Record"}, [], "R", ""),
    events.PATIENT_EXPORT: ({"system": DCM, "code": "110106", "display": "Export"}, [], "R", ""),
}
_NAMESPACE_TYPES: dict[str, tuple[dict[str, str], list[dict[str, str]], str]] = {
    "patient": ({"system": DCM, "code": "110110", "display": "Patient Record"}, [], "R"),
    "api": (_REST, [], "E"),
    "user": ({"system": DCM, "code": "110114", "display": "User Authentication"}, [], "E"),
    "role": (
        {"system": DCM, "code": "110113", "display": "Security Alert"},
        [{"system": DCM, "code": "110136", "display": "Security Roles Changed"}],
        "U",
    ),
    "agreement": (
        {"system": DCM, "code": "110113", "display": "Security Alert"},
        [{"system": DCM, "code": "110135", "display": "Object Security Attributes Changed"}],
        "U",
    ),
    "reservation": (
        {"system": DCM, "code": "110113", "display": "Security Alert"},
        [{"system": DCM, "code": "110135", "display": "Object Security Attributes Changed"}],
        "U",
    ),
    "ingest": ({"system": DCM, "code": "110107", "display": "Import"}, [], "C"),
    "audit": ({"system": DCM, "code": "110101", "display": "Audit Log Used"}, [], "R"),
    "fhir.auditevent": ({"system": DCM, "code": "110101", "display": "Audit Log Used"}, [], "E"),
}
_LOGIN = {"user.login": ("110122", "Login"), "user.logout": ("110123", "Logout")}
OUTCOMES = {"granted": "0", "success": "0", "denied": "4", "failure": "8"}
_PURPOSE = {
    Basis.CARE: (ACT_REASON, "TREAT", "treatment"),
    Basis.CONSENT: (ACT_REASON, "TREAT", "treatment"),
    Basis.EMERGENCY: (ACT_REASON, "ETREAT", "Emergency Treatment"),
}
_BASIS_DISPLAY = {Basis.CARE: "UNNTAK", Basis.CONSENT: "SAMTYKKE", Basis.EMERGENCY: "AKUTT"}


def _classify(code: str) -> tuple[dict[str, str], list[dict[str, str]], str, str]:
    if code in _TYPES:
        kind, subtypes, action, profile = _TYPES[code]
        return kind, list(subtypes), action, profile
    namespace = code
    while "." in namespace:
        namespace = namespace.rsplit(".", 1)[0]
        if namespace in _NAMESPACE_TYPES:
            kind, subtypes, action = _NAMESPACE_TYPES[namespace]
            subtypes = list(subtypes)
            if code in _LOGIN:
                subtypes.append({"system": DCM, "code": _LOGIN[code][0], "display": _LOGIN[code][1]})
            return kind, subtypes, action, ""
    return {"system": DCM, "code": "110100", "display": "Application Activity"}, [], "E", ""


def _purpose(record: AuditEvent) -> list[dict[str, Any]]:
    try:
        basis = Basis(record.basis)
    except ValueError:
        return []
    system, code, display = _PURPOSE[basis]
    purpose: dict[str, Any] = {
        "coding": [
            {"system": system, "code": code, "display": display},
            {"system": BASIS_SYSTEM, "code": str(basis), "display": _BASIS_DISPLAY[basis]},
        ]
    }
    if record.reason:
        purpose["text"] = record.reason
    return [purpose]


def _user_agent(record: AuditEvent, purpose: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not (record.actor_name or record.actor_hpr or record.actor_pid):
        return None
    who: dict[str, Any] = {"display": record.actor_name}
    if record.actor_hpr:
        who["identifier"] = {"system": SYSTEM_HPR, "value": record.actor_hpr}
    agent: dict[str, Any] = {
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
        "who": who,
        "name": record.actor_name,
        "requestor": True,
    }
    if record.actor_sub:
        agent["altId"] = record.actor_sub  # HelseID's pseudonymous subject
    if record.actor_role:
        agent["role"] = [{"text": role} for role in record.actor_role.split(",")]
    if record.actor_pid:
        agent["extension"] = [
            {
                "url": OTHER_ID,
                "valueReference": {"identifier": {"system": SYSTEM_FNR, "value": record.actor_pid}},
            }
        ]
    if purpose:
        agent["purposeOfUse"] = purpose
    return agent


def _org_agents(record: AuditEvent) -> list[dict[str, Any]]:
    prov = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "code": "PROV"}]}
    agents = []
    for orgnr, name in ((record.org_parent, record.org_parent_name), (record.org_child, record.org_child_name)):
        if orgnr:
            who = {"identifier": {"system": SYSTEM_ORGNR, "value": orgnr}, "display": name or orgnr}
            agents.append({"type": prov, "who": who, "requestor": False})
    return agents


def _system_agents(record: AuditEvent, base_url: str) -> list[dict[str, Any]]:
    agents = []
    if record.client_id:
        agents.append(
            {
                "type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
                "who": {"identifier": {"system": CLIENT_ID_SYSTEM, "value": record.client_id}},
                "requestor": False,
            }
        )
    agents.append(
        {
            "type": {"coding": [{"system": DCM, "code": "110152", "display": "Destination Role ID"}]},
            "who": {"display": "Måledata"},
            "requestor": False,
            "network": {"address": base_url, "type": "5"},
        }
    )
    return agents


def _entities(record: AuditEvent) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    if record.patient_value:
        entities.append(
            {
                "what": {"identifier": {"system": record.patient_system or SYSTEM_FNR, "value": record.patient_value}},
                "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
                "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
            }
        )
    data = record.data if isinstance(record.data, dict) else {}
    if events.is_patient_access(record.event):
        query = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
        entities.append(
            {
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
                "description": made_available(data) or str(DENIAL_LABELS.get(str(data.get("denial")), "")),
                "query": base64.b64encode(query).decode(),
            }
        )
    elif data:
        entities.append(
            {
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "detail": [{"type": "data", "valueString": json.dumps(data, sort_keys=True, ensure_ascii=False)}],
            }
        )
    if record.request_id:
        entities.append(
            {
                "what": {"identifier": {"value": record.request_id}},
                "type": {"system": f"{BALP}/CodeSystem/BasicAuditEntityType", "code": "XrequestId"},
            }
        )
    return entities


def audit_event(record: AuditEvent, *, base_url: str) -> dict[str, Any]:
    """One log record as a FHIR R4 AuditEvent (IHE BALP shape)."""
    kind, subtypes, action, profile = _classify(record.event)
    subtypes.append({"system": EVENT_CODE_SYSTEM, "code": record.event, "display": events.label(record.event)})
    if record.basis == Basis.EMERGENCY:
        subtypes.append({"system": DCM, "code": "110127", "display": "Emergency Override Started"})
    purpose = _purpose(record)
    user = _user_agent(record, purpose)
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(record.pk),
        "type": kind,
        "subtype": subtypes,
        "action": action,
        "recorded": record.occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "outcome": OUTCOMES.get(record.outcome, "8"),
        "agent": [*([user] if user else []), *_org_agents(record), *_system_agents(record, base_url)],
        "source": {
            "site": "maaledata",
            "observer": {"display": "Måledata"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4"}],
        },
        "entity": _entities(record),
    }
    if profile:
        resource["meta"] = {"profile": [f"{BALP}/StructureDefinition/{profile}"]}
    if record.outcome == "denied" and isinstance(record.data, dict) and "denial" in record.data:
        resource["outcomeDesc"] = str(record.data["denial"])
    if purpose:
        resource["purposeOfEvent"] = purpose
    return resource
