"""What is logged, checked from the outside.

1. Every URL the portal and the API serve is classified here. Each one that shows or returns
   patient data is walked twice: once normally (the data comes back and its record is in the
   log), once with the database refusing new audit records (nothing comes back). Together this
   proves each writes its record before the data leaves. A new URL fails the test until it is
   classified, so no read of patient data can be added without its walk.
2. Every event code the source passes to record_event has a label, so auditors, patients and
   audit systems see what each record means.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from devdata import demo
from devdata.demo import seed_demo_grants
from portal.login.devclient import DpopKey, epj_user_token
from sharing.audit import events
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor, Role
from sharing.measurements.models import Measurement
from tests.conftest import idp_login

from .conftest import AUDIT_SCOPE
from .helpers import audit_writes_fail

ROOT = Path(__file__).resolve().parents[3]
KARI = "30875928763"
INGRID = Actor(sub="sub-ingrid", hpr_number="565501872", name="Ingrid Berg", roles=frozenset({Role.CLINICIAN}))

# URLs that never show or return another party's patient data, and why.
NO_PATIENT_DATA = {
    "login": "the login page",
    "login-refused": "why a login was refused",
    "login-unit": "the person's own memberships; the choice logged as user.unit.chosen or user.unit.refused",
    "login-no-membership": "says whom to ask; no data",
    "members": "the organisation's own members; changes logged as membership.add",
    "member-end": "a membership change, logged as membership.end",
    "service:organisations": "the reading organisations; registering one logged as organisation.register",
    "service:organisation": "an organisation's units and admins; logged as organisation.register, membership.add",
    "service:admin-remove": "an admin appointment ended, logged as membership.end",
    "login-unit-refused": "says HelseID refused the organisation (logged as user.unit.refused)",
    "login-fresh": "asks for a fresh login",
    "oidc_authentication_init": "redirect to HelseID",
    "launch": "an EHR launch: redirect to the EHR's authorization; a refusal logged as launch.refused",
    "launch-callback": "the EHR's answer: reads the patient from the EHR (its data, not ours); refusals logged",
    "launch-confirm": "shows the patient the EHR named; its POST is the ordinary lookup (open_lookup, as "
    "clinician:search), logged as patient.lookup; tests/portal/launch/test_launch.py walks it with the log down",
    "launch-logged-in": "the login window's page after HelseID: posts a single-use code to the EHR's frame; no patient",
    "launch-join": "the frame takes that code and joins the window's session, then goes back to launch-confirm "
    "(no patient data: the lookup is launch-confirm's POST)",
    "oidc_authentication_callback": "HelseID's answer; logged as user.login",
    "logout": "logged as user.logout",
    "oidc-backchannel-logout": "HelseID ends a login; logged as user.logout (channel backchannel)",
    "set_language": "sets the language cookie",
    "favicon": "the site's icon",
    "fhir-system": "the FHIR base URL",
    "fhir:system": "the FHIR base URL",
    "fhir:metadata": "the CapabilityStatement",
    "fhir:openapi": "the API's OpenAPI description",
    "fhir:export-status": "the manifest of the client's own export: counts and file URLs, no patient",
    "fhir:export-file": "a file of an export already logged at kick-off (api.export, with its patients)",
    "agreements_admin:list": "agreements, no patient",
    "agreements_admin:create": "agreements, no patient",
    "agreements_admin:detail": "agreements, no patient",
    "agreements_admin:edit": "agreements, no patient",
    "agreements_admin:activate": "agreements, no patient",
    "agreements_admin:suspend": "agreements, no patient",
    "agreements_admin:resume": "agreements, no patient",
    "agreements_admin:terminate": "agreements, no patient",
    "agreements_admin:reservations": "the municipality's own reservation register; changes logged, no measurements",
    "agreements_admin:reservation-lift": "a reservation change, logged as reservation.lift",
    "agreements_admin:roles": "role grants, no patient",
    "agreements_admin:role-revoke": "a role change, logged as role.revoke",
    "auditor:mark": "records a review mark; redirects, shows nothing",
    "agreements_admin:processing": "the municipality's data processing agreements and authorised senders, no patient",
    "agreements_admin:deletions": "a deletion asked for, logged as measurement.deletion_request with the patient",
    "agreements_admin:deletion-confirm": "a patient's data deleted, logged as measurement.delete with the patient",
    "agreements_admin:quality": "ingest warnings per sender: counts, kinds and what was sent wrong, never a patient",
    "agreements_admin:identities": "own identity links, no measurements; a link logged as identity.link",
    "agreements_admin:register": "the processor's register: senders and data processing agreements, no patient",
    "agreements_admin:register-sender": "a sender authorised, logged as sender.authorise",
    "agreements_admin:register-sender-end": "a sender's authorisation ended, logged as sender.end",
    "agreements_admin:register-agreement": "an agreement recorded, logged as processing_agreement.record",
    "agreements_admin:register-agreement-end": "an agreement ended, logged as processing_agreement.record",
}


@dataclass(frozen=True)
class Walk:
    """How to fetch patient data through one URL, and how to tell it came back."""

    login: str  # a devidp person, or "audit-system" for a bearer token from an audit system
    fetch: Callable[[Client, dict[str, Any]], Any]
    shows_data: Callable[[Any], bool]
    event: str
    prepare: Callable[[Client], dict[str, Any]] = field(default=lambda client: {})
    # False for a view of many patients: its record lists them in data["patients"].
    one_patient: bool = True

    def records(self) -> int:
        if self.one_patient:
            return AuditEvent.objects.filter(event=self.event, patient_value=KARI).count()
        return sum(
            KARI in data.get("patients", [])
            for data in AuditEvent.objects.filter(event=self.event).values_list("data", flat=True)
        )


def _open_patient(client: Client) -> dict[str, Any]:
    response = client.post("/", {"national_id": KARI, "basis": "care", "reason": "Innlagt"})
    assert response.status_code == 302, response.content
    return {"key": response["Location"].rstrip("/").split("/")[-1]}


def _a_read_to_audit(client: Client) -> dict[str, Any]:
    record_event(
        event=events.PATIENT_LOOKUP,
        outcome="granted",
        by=INGRID,
        patient_value=KARI,
        basis="emergency",
        reason="Bevisstløs",
        data={"count": 3},
        municipalities=[demo.OSLO],
    )
    return {}


def _measurement_id(client: Client) -> dict[str, Any]:
    return {"id": str(Measurement.objects.filter(patient_value=KARI).values_list("id", flat=True).first())}


def _fhir(client: Client, ctx: dict[str, Any], method: str, path: str, data: dict[str, str]) -> Any:
    """A read as a hospital EPJ makes it: DPoP-bound token, a fresh proof for each call."""
    headers = {
        "HTTP_AUTHORIZATION": f"DPoP {ctx['token']}",
        "HTTP_DPOP": ctx["key"].proof(method, f"http://testserver{path}", ctx["token"]),
        "HTTP_X_ACCESS_REASON": "Innlagt",
    }
    if method == "GET":
        return client.get(path, data, **headers)
    return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded", **headers)


def _fhir_data(response: Any) -> bool:
    return response.status_code == 200 and "Kari Nordmann" in response.content.decode()


PATIENT_PARAM = {"patient.identifier": f"urn:oid:2.16.578.1.12.4.1.4.1|{KARI}"}


def _text(response: Any) -> str:
    return response.content.decode()


WALKS: dict[str, Walk] = {
    "clinician:search": Walk(
        "ingrid-berg",
        lambda c, ctx: c.post("/", {"national_id": KARI, "basis": "care", "reason": "Innlagt"}),
        lambda r: r.status_code == 302 and "/pasient/" in r["Location"],
        events.PATIENT_LOOKUP,
    ),
    "clinician:reopen": Walk(
        "ingrid-berg",
        lambda c, ctx: c.post(f"/pasient/{ctx['key']}/apne/"),
        lambda r: r.status_code == 302 and "/pasient/" in r["Location"],
        events.PATIENT_LOOKUP,
        _open_patient,
    ),
    "clinician:patient": Walk(
        "ingrid-berg",
        lambda c, ctx: c.get(f"/pasient/{ctx['key']}/"),
        lambda r: r.status_code == 200 and "Kari Nordmann" in _text(r),
        events.PATIENT_VIEW,
        _open_patient,
    ),
    "clinician:series": Walk(
        "ingrid-berg",
        lambda c, ctx: c.get(f"/pasient/{ctx['key']}/body_weight/"),
        lambda r: r.status_code == 200 and "Kari Nordmann" in _text(r),
        events.PATIENT_VIEW,
        _open_patient,
    ),
    "clinician:export": Walk(
        "ingrid-berg",
        lambda c, ctx: c.post(f"/pasient/{ctx['key']}/eksport/"),
        lambda r: r.status_code == 200 and _text(r).count("\n") > 100,
        events.PATIENT_EXPORT,
        _open_patient,
    ),
    "clinician:journal": Walk(
        "ingrid-berg",
        lambda c, ctx: c.post(f"/pasient/{ctx['key']}/journalnotat/", {"periode": "30d"}),
        lambda r: r.status_code == 200 and "Kari Nordmann" in _text(r),
        events.PATIENT_EXPORT,
        _open_patient,
    ),
    "auditor:log": Walk(
        "jonas-strand",
        lambda c, ctx: c.get("/revisjon/", {"patient": KARI}),
        lambda r: r.status_code == 200 and "Ingrid Berg" in _text(r),
        events.AUDIT_SEARCH,
        _a_read_to_audit,
    ),
    "auditor:review": Walk(
        "jonas-strand",
        lambda c, ctx: c.get("/revisjon/gjennomgang/"),
        lambda r: r.status_code == 200 and "Ingrid Berg" in _text(r),
        events.AUDIT_REVIEW_QUEUE,
        _a_read_to_audit,
        one_patient=False,
    ),
    "auditor:report": Walk(
        "jonas-strand",
        lambda c, ctx: c.post("/revisjon/innsyn/", {"patient": KARI, "format": "csv"}),
        lambda r: r.status_code == 200 and "Ingrid Berg" in _text(r),
        events.AUDIT_PATIENT_REPORT,
        _a_read_to_audit,
    ),
    # GET on the ingest paths is the read API; POST and PUT there answer with the sender's own resource.
    "fhir:observation-create": Walk(
        "epj", lambda c, ctx: _fhir(c, ctx, "GET", "/fhir/Observation", PATIENT_PARAM), _fhir_data, events.API_SEARCH
    ),
    "fhir:observation-search": Walk(
        "epj",
        lambda c, ctx: _fhir(c, ctx, "POST", "/fhir/Observation/_search", PATIENT_PARAM),
        _fhir_data,
        events.API_SEARCH,
    ),
    "fhir:observation-lastn": Walk(
        "epj",
        lambda c, ctx: _fhir(c, ctx, "GET", "/fhir/Observation/$lastn", PATIENT_PARAM),
        _fhir_data,
        events.API_LASTN,
    ),
    "fhir:observation-update": Walk(
        "epj",
        lambda c, ctx: _fhir(c, ctx, "GET", f"/fhir/Observation/{ctx['id']}", {}),
        _fhir_data,
        events.API_READ,
        _measurement_id,
    ),
    "fhir:observation-history": Walk(
        "epj",
        lambda c, ctx: _fhir(c, ctx, "GET", f"/fhir/Observation/{ctx['id']}/_history", {}),
        _fhir_data,
        events.API_READ,
        _measurement_id,
    ),
    "fhir:observation-vread": Walk(
        "epj",
        lambda c, ctx: _fhir(c, ctx, "GET", f"/fhir/Observation/{ctx['id']}/_history/1", {}),
        _fhir_data,
        events.API_READ,
        _measurement_id,
    ),
    # Kick-off, status, file: the record is written in the kick-off, before the file exists.
    "fhir:export": Walk("export-system", lambda c, ctx: _export(c, ctx), _fhir_data, "api.export", one_patient=False),
    "fhir:auditevent-search": Walk(
        "audit-system",
        lambda c, ctx: c.get("/fhir/AuditEvent", {"patient.identifier": KARI}, HTTP_AUTHORIZATION=ctx["auth"]),
        lambda r: r.status_code == 200 and "Ingrid Berg" in _text(r),
        events.FHIR_AUDITEVENT_SEARCH,
        _a_read_to_audit,
    ),
}


def _export(client: Client, ctx: dict[str, Any]) -> Any:
    """Oslo's own system's Bulk Data export, to the NDJSON file (or the first answer that is not 2xx)."""
    auth = {"HTTP_AUTHORIZATION": ctx["auth"]}
    started = client.get("/fhir/$export", HTTP_PREFER="respond-async", **auth)
    if started.status_code != 202:
        return started
    status = client.get(urlsplit(started["Content-Location"]).path, **auth)
    [output] = status.json()["output"]
    return client.get(urlsplit(output["url"]).path, **auth)


def _url_names(patterns: list[Any], namespace: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name or pattern.pattern}"


def test_every_url_is_classified():
    served = set(_url_names(get_resolver().url_patterns))
    unclassified = served - set(WALKS) - set(NO_PATIENT_DATA)
    assert not unclassified, (
        f"New URLs {sorted(unclassified)}: if one shows or returns patient data, add a Walk proving it "
        "logs first; otherwise say why not in NO_PATIENT_DATA."
    )
    assert not (set(WALKS) & set(NO_PATIENT_DATA))


def _login(client: Client, request: pytest.FixtureRequest, walk: Walk) -> dict[str, Any]:
    if walk.login == "epj":
        key = DpopKey()
        return {"token": epj_user_token(request.getfixturevalue("helseid"), "ingrid-berg", key), "key": key}
    if walk.login == "export-system":
        scope = f"{settings.FHIR_SCOPE_OBSERVATION_WRITE} {settings.FHIR_SCOPE_EXPORT}"
        return {"auth": f"Bearer {request.getfixturevalue('helseid').system_token('vkp-oslo', scope=scope)}"}
    if walk.login == "audit-system":
        idp = request.getfixturevalue("audit_api")
        return {"auth": f"Bearer {idp.system_token('revisjon-oslo', scope=AUDIT_SCOPE)}"}
    idp_login(client, request.getfixturevalue("helseid"), walk.login)
    return {}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", sorted(WALKS))
def test_every_patient_data_url_writes_its_record_before_the_data_leaves(name, request, client, patient_data):
    seed_demo_grants(by=demo.SEEDER)
    walk = WALKS[name]
    context = _login(client, request, walk)
    context |= walk.prepare(client)

    before = walk.records()
    response = walk.fetch(client, context)
    assert walk.shows_data(response), f"{name} did not return the patient data: {response.status_code}"
    assert walk.records() == before + 1
    assert response["Cache-Control"] == "no-store", f"{name} may be kept in a cache"

    with audit_writes_fail():
        refused = walk.fetch(client, context)
    assert not walk.shows_data(refused), f"{name} returned patient data without its audit record"
    assert refused.status_code == 503
    assert refused["Cache-Control"] == "no-store"
    assert refused["Retry-After"] == "5"


# --- Every event code has a label ------------------------------------------------------------


def _codes_in(tree: ast.Module) -> set[str]:
    """Every event code passed as `event=...` to any call: literals, f-string namespaces ("agreement.*"),
    module constants, values of a module-level dict looked up by key, and attributes of events.py."""
    constants = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    codes: set[str] = set()
    for keyword in (n for n in ast.walk(tree) if isinstance(n, ast.keyword) and n.arg == "event"):
        value = keyword.value
        if isinstance(value, ast.Name):
            value = constants.get(value.id, value)
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            value = constants.get(value.value.id, value)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            codes.add(value.value)
        elif isinstance(value, ast.JoinedStr) and isinstance(value.values[0], ast.Constant):
            codes.add(f"{value.values[0].value}*")
        elif isinstance(value, ast.Dict):
            codes |= {v.value for v in value.values if isinstance(v, ast.Constant) and isinstance(v.value, str)}
        elif isinstance(value, ast.Attribute) and isinstance(getattr(events, value.attr, None), str):
            codes.add(getattr(events, value.attr))
    return codes


def _codes_in_source() -> set[str]:
    codes: set[str] = set()
    for path in [*(ROOT / "sharing").rglob("*.py"), *(ROOT / "portal").rglob("*.py")]:
        if "migrations" not in path.parts:
            codes |= _codes_in(ast.parse(path.read_text()))
    return codes


def test_every_event_code_in_the_source_has_a_label():
    codes = _codes_in_source()
    assert {"patient.lookup", "user.login", "agreement.terminate", "audit.review"} <= codes  # the scan finds them
    unlabelled = sorted(c for c in codes if not events.is_known(c.rstrip("*") + "x" if c.endswith("*") else c))
    assert not unlabelled, f"Event codes without a label in sharing/audit/events.py: {unlabelled}"
