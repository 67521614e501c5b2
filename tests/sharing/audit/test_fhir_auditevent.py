"""GET /fhir/AuditEvent: the log as IHE BALP-shaped AuditEvents, for audit systems in scope only."""

import base64
import json
from dataclasses import replace

import pytest
from django.conf import settings
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from sharing.audit import events
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent
from sharing.fhir.balp import AUDIT_EVENT_TYPE, BASIS_SYSTEM, DCM, EVENT_CODE_SYSTEM, audit_event
from sharing.identifiers import SYSTEM_FNR, SYSTEM_HPR, SYSTEM_ORGNR
from tests import actors
from tests.sharing.fhir.languages import same_answer_in_two_languages

from .conftest import AUDIT_SCOPE
from .helpers import audit_writes_fail

pytestmark = pytest.mark.django_db

OSLO, BAERUM = "311111019", "315555019"
KARI, PER_OLSEN = "30875928763", "14904839826"
INGRID = replace(actors.INGRID_AT_LOVISENBERG, request_id="req-123")


def _read(event=events.PATIENT_LOOKUP, patient=KARI, outcome="granted", basis="care", municipalities=(OSLO,), **data):
    return record_event(
        event=event,
        outcome=outcome,
        by=INGRID,
        patient_system=SYSTEM_FNR,
        patient_value=patient,
        basis=basis,
        reason="Bevisstløs i akuttmottak" if basis == "emergency" else "Innlagt",
        data=data
        or {"kinds": ["heart_rate"], "period": ["2025-11-01T08:00:00+01:00", "2025-11-30T08:00:00+01:00"], "count": 29},
        municipalities=list(municipalities),
    )


def _get(client, idp, client_id="revisjon-oslo", scope=AUDIT_SCOPE, **params):
    token = idp.system_token(client_id, scope=scope)
    return client.get("/fhir/AuditEvent", params, HTTP_AUTHORIZATION=f"Bearer {token}")


def _ids(response) -> list[str]:
    return [entry["resource"]["id"] for entry in response.json().get("entry", [])]


def test_a_municipalitys_audit_system_reads_its_municipalitys_events(client, audit_api, oslo):
    mine, theirs = _read(), _read(municipalities=[BAERUM])
    response = _get(client, audit_api)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(response.json())  # valid FHIR R4B, AuditEvents included
    assert bundle.type == "searchset"
    ids = _ids(response)
    assert str(mine.pk) in ids and str(theirs.pk) not in ids
    # Besides the read: the agreements Oslo signed and its processing register (the fixture's).
    assert {e.event.split(".")[0] for e in AuditEvent.objects.filter(pk__in=ids)} == {
        "patient",
        "agreement",
        "organisation",
        "processing_agreement",
        "sender",
    }


def test_the_api_read_is_itself_logged(client, audit_api, oslo):
    _read()
    _get(client, audit_api, **{"patient.identifier": f"{SYSTEM_FNR}|{KARI}"})
    record = AuditEvent.objects.get(event=events.FHIR_AUDITEVENT_SEARCH)
    assert (record.client_id, record.org_parent, record.patient_value) == ("revisjon-oslo", OSLO, KARI)
    assert record.municipalities == OSLO
    assert record.data["count"] == 1


def test_the_service_operators_system_reads_every_municipality(client, audit_api, oslo):
    oslo_read, baerum_read = _read(), _read(municipalities=[BAERUM])
    response = _get(client, audit_api, client_id="revisjon-drift")
    assert response.status_code == 200
    assert set(_ids(response)) >= {str(oslo_read.pk), str(baerum_read.pk)}


def test_any_other_organisation_is_refused(client, audit_api, oslo):
    _read()
    response = _get(client, audit_api, client_id="revisjon-lovisenberg")
    assert response.status_code == 403
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_token_without_the_audit_scope_is_refused(client, audit_api, oslo):
    response = _get(client, audit_api, client_id="vkp-oslo", scope=settings.FHIR_SCOPE_OBSERVATION_WRITE)
    assert response.status_code == 403
    assert AUDIT_SCOPE in response.json()["issue"][0]["diagnostics"]


def test_no_token_no_log(client, oslo):
    response = client.get("/fhir/AuditEvent")
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"


def test_unknown_search_parameters_are_refused(client, audit_api, oslo):
    response = _get(client, audit_api, agent="someone")
    assert response.status_code == 400
    assert "agent" in response.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("date", ["eq1444-51-85", "2026-02-30", "2026-11-25T25:00", "le9999-12-31", "9999-12-31"])
def test_impossible_dates_are_a_400_not_a_crash(client, audit_api, oslo, date):
    """Found by schemathesis (tests/sharing/fhir/test_openapi_fuzz.py): well-formed but impossible dates."""
    response = _get(client, audit_api, date=date)
    assert response.status_code == 400, response.content
    assert date in response.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("param", ["patient.identifier", "subtype", "outcome", "date"])
def test_a_nul_byte_is_a_400_not_a_crash(client, audit_api, oslo, param):
    """PostgreSQL cannot compare text holding NUL: the fault schemathesis found in the Observation search."""
    response = _get(client, audit_api, **{param: "a\x00b"})
    assert response.status_code == 400, response.content


def test_a_date_means_that_whole_day(client, audit_api, oslo):
    """eq, le and ge with a date (no time) take in all of that day; lt and gt none of it."""
    today = timezone.localdate().isoformat()
    record = _read().pk
    for date, found in [(today, True), (f"le{today}", True), (f"ge{today}", True), (f"lt{today}", False)]:
        assert (record in map(int, _ids(_get(client, audit_api, date=date)))) is found, date
    assert record not in map(int, _ids(_get(client, audit_api, date=f"gt{today}")))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"patient.identifier": f"{SYSTEM_FNR}|{PER_OLSEN}"}, ["other"]),
        ({"patient.identifier": KARI}, ["denied", "granted"]),
        ({"outcome": "4"}, ["denied"]),
        ({"outcome": "0"}, ["other", "granted"]),
        ({"subtype": f"{EVENT_CODE_SYSTEM}|patient.export"}, ["other"]),
        ({"date": "ge2000-01-01"}, ["other", "denied", "granted"]),
        ({"date": "lt2000-01-01"}, []),
    ],
)
def test_search_parameters(client, audit_api, oslo, params, expected):
    named = {
        _read().pk: "granted",
        _read(outcome="denied", denial="no-agreement").pk: "denied",
        _read(event=events.PATIENT_EXPORT, patient=PER_OLSEN).pk: "other",
    }
    response = _get(client, audit_api, **params)
    assert response.status_code == 200, response.content
    assert [named[int(i)] for i in _ids(response) if int(i) in named] == expected


def test_paging_follows_next_links_to_the_end(client, audit_api, oslo):
    made = {str(_read().pk) for _ in range(5)}
    token = audit_api.system_token("revisjon-oslo", scope=AUDIT_SCOPE)
    seen, url, pages = [], "/fhir/AuditEvent?_count=2&subtype=patient.lookup", 0
    while url:
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
        seen += _ids(response)
        pages += 1
        url = next((link["url"] for link in response.json()["link"] if link["relation"] == "next"), None)
    assert (set(seen), len(seen), pages) == (made, 5, 3)


def test_when_the_read_cannot_be_logged_nothing_is_returned(client, audit_api, oslo):
    _read()
    token = audit_api.system_token("revisjon-oslo", scope=AUDIT_SCOPE)
    with audit_writes_fail():
        response = client.get("/fhir/AuditEvent", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 503
    assert "entry" not in response.json()


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"agent": "someone"}, "param-unknown"),
        ({"date": "2026-02-30"}, "date-invalid"),
        ({"_count": "0"}, "count-invalid"),
        ({"_page": "many"}, "page-invalid"),
        ({"outcome": "2"}, "outcome-invalid"),
        ({"patient.identifier": "urn:oid:9.9|1"}, "patient-system"),
        ({"subtype": "a\x00b"}, "param-unclean"),
    ],
)
def test_search_parameter_errors_are_coded_and_worded_in_the_callers_language(client, audit_api, oslo, params, code):
    token = audit_api.system_token("revisjon-oslo", scope=AUDIT_SCOPE)

    def ask(headers):
        return client.get("/fhir/AuditEvent", params, headers={"Authorization": f"Bearer {token}", **headers})

    assert same_answer_in_two_languages(ask, 400, code) == [code]


def test_the_refusal_and_the_unlogged_read_are_worded_in_the_callers_language(client, audit_api, oslo):
    def ask(client_id):
        token = audit_api.system_token(client_id, scope=AUDIT_SCOPE)
        return lambda headers: client.get("/fhir/AuditEvent", headers={"Authorization": f"Bearer {token}", **headers})

    same_answer_in_two_languages(ask("revisjon-lovisenberg"), 403, "audit-reader-not-allowed")
    with audit_writes_fail():
        same_answer_in_two_languages(ask("revisjon-oslo"), 503, "audit-unavailable")


# --- The shape of one record (IHE BALP) --------------------------------------------------------


def _coding(codings, system):
    return next(c for c in codings if c["system"] == system)


def test_an_emergency_lookup_as_balp():
    resource = audit_event(_read(basis="emergency"), base_url="http://testserver/fhir")
    assert resource["type"] == {"system": DCM, "code": "110112", "display": "Query"}
    assert _coding(resource["subtype"], EVENT_CODE_SYSTEM)["code"] == "patient.lookup"
    assert _coding(resource["subtype"], DCM)["code"] == "110127"  # Emergency Override Started
    assert (resource["action"], resource["outcome"]) == ("E", "0")
    [purpose] = resource["purposeOfEvent"]
    assert {c["code"] for c in purpose["coding"]} == {"ETREAT", "emergency"}
    assert _coding(purpose["coding"], BASIS_SYSTEM)["display"] == "AKUTT"
    assert purpose["text"] == "Bevisstløs i akuttmottak"

    user, parent, unit, portal, server = resource["agent"]
    assert user["who"] == {"display": "Ingrid Berg", "identifier": {"system": SYSTEM_HPR, "value": "565501872"}}
    assert user["requestor"] is True and user["purposeOfUse"] == [purpose]
    assert user["extension"][0]["valueReference"]["identifier"] == {"system": SYSTEM_FNR, "value": "12837826592"}
    assert parent["who"]["identifier"] == {"system": SYSTEM_ORGNR, "value": "312222019"}
    assert unit["who"]["display"] == "Lovisenberg, medisinsk klinikk"
    assert (
        portal["type"]["coding"][0]["code"] == "110153" and portal["who"]["identifier"]["value"] == "maaledata-portal"
    )
    assert server["type"]["coding"][0]["code"] == "110152" and server["network"]["address"] == "http://testserver/fhir"

    patient, query, transaction = resource["entity"]
    assert patient["what"]["identifier"] == {"system": SYSTEM_FNR, "value": KARI}
    assert (patient["role"]["code"], query["role"]["code"]) == ("1", "24")
    assert json.loads(base64.b64decode(query["query"]))["count"] == 29
    assert transaction["what"]["identifier"]["value"] == "req-123"


def test_a_fhir_search_is_a_balp_patient_query_and_a_denial_is_a_minor_failure():
    resource = audit_event(_read(event=events.API_SEARCH), base_url="http://x/fhir")
    assert resource["type"] == {"system": AUDIT_EVENT_TYPE, "code": "rest", "display": "Restful Operation"}
    assert resource["meta"]["profile"] == [
        "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientQuery"
    ]
    denied = audit_event(_read(outcome="denied", denial="reserved"), base_url="http://x/fhir")
    assert (denied["outcome"], denied["outcomeDesc"]) == ("4", "reserved")


def test_changes_and_logins_map_to_dicom_security_events():
    role = audit_event(
        record_event(event="role.grant", outcome="success", by=INGRID, data={"after": {"municipality": OSLO}}),
        base_url="x",
    )
    login = audit_event(record_event(event="user.login", outcome="success", by=INGRID), base_url="x")
    assert (role["type"]["code"], _coding(role["subtype"], DCM)["code"]) == ("110113", "110136")
    assert (login["type"]["code"], _coding(login["subtype"], DCM)["code"]) == ("110114", "110122")
