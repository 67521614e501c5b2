"""Denials a client can act on, without leaking the patient (docs/fhir-api.md, "Denials").

Refusals that say nothing about the patient answer 403 (or 400 for a missing reason) with a coded
OperationOutcome; a patient with nothing shared and a patient who has reserved themselves both
find an empty searchset, byte for byte the same apart from ids; a read by id of anything not
visible is 404. Every one of them is in the access log as before.
"""

import json

import jwt
import pytest
import requests
from django.utils import timezone

from devdata import demo
from portal.login.devclient import DpopAuth, DpopKey, epj_user_token
from sharing.agreements.actions import record_reservation
from sharing.agreements.models import Organisation
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor
from sharing.identifiers import SYSTEM_FNR

pytestmark = pytest.mark.django_db(transaction=True)
DENIAL_SYSTEM = "https://maaledata.no/fhir/CodeSystem/access-denial"
ADMIN = Actor(name="seed", pid="03847733283", client_id="test")


def _search(live_server, token, key, pid, headers=None, path="Observation", basis="care", reason="Innlagt"):
    return requests.get(
        f"{live_server.url}/fhir/{path}",
        params={"patient.identifier": f"{SYSTEM_FNR}|{pid}"},
        headers=headers or {},
        auth=DpopAuth(token, key, basis, reason),
        timeout=10,
    )


def _coded(response):
    [issue] = response.json()["issue"]
    [coding] = issue["details"]["coding"]
    assert coding["system"] == DENIAL_SYSTEM
    return issue["code"], coding["code"], issue["diagnostics"]


FJORDVIK_EPJ = "epj-fjordvik"  # a hospital without any agreement


@pytest.mark.parametrize(
    ("person", "denial"),
    [("per-dahl", "no-agreement"), ("nina-lund", "no-hpr"), ("emil-vik", "security-level")],
)
def test_refusals_about_the_caller_are_403_coded_and_logged(live_server, helseid, patient_data, person, denial):
    key = DpopKey()
    # Per Dahl reads through his own hospital's EPJ: HelseID puts the client's organisation
    # (Fjordvik, no agreement) in the token.
    token = epj_user_token(helseid, person, key, client_id=FJORDVIK_EPJ if person == "per-dahl" else "epj-lovisenberg")
    response = _search(live_server, token, key, patient_data)
    assert response.status_code == 403, response.text
    code, coded, diagnostics = _coded(response)
    assert (code, coded) == ("forbidden", denial)
    assert patient_data not in response.text
    # Norwegian by default, English on request: one language per answer.
    english = _search(live_server, token, key, patient_data, {"Accept-Language": "en"})
    assert _coded(english)[2] != diagnostics
    assert all(c.isascii() for c in _coded(english)[2])
    events = AuditEvent.objects.filter(event="api.search").order_by("pk")
    assert [(e.outcome, e.data["denial"]) for e in events] == [("denied", denial)] * 2


def test_an_api_token_with_a_revoked_authorisation_is_refused_as_in_the_portal(live_server, helseid, patient_data):
    # Knut Rud's HPR authorisation is revoked (devidp's hpr_details). The token carries his
    # hpr_details (the API's registration lists the claim), and the decision reads it.
    key = DpopKey()
    token = epj_user_token(helseid, "knut-rud", key)
    details = jwt.decode(token, options={"verify_signature": False})["helseid://claims/hpr/hpr_details"]
    assert details["approvals"][0]["authorization"]["revoked"] is True
    response = _search(live_server, token, key, patient_data)
    assert response.status_code == 403, response.text
    assert _coded(response)[:2] == ("forbidden", "no-authorisation")
    assert patient_data not in response.text
    event = AuditEvent.objects.get(event="api.search")
    assert (event.outcome, event.data["denial"], event.actor_name) == ("denied", "no-authorisation", "Knut Rud")


def test_an_api_token_for_a_profession_the_agreement_does_not_cover_is_refused(
    live_server, helseid, patient_data, settings
):
    # Oslo's agreement with Sagene legesenter covers doctors and nurses; Hilde Sand is a
    # physiotherapist. Sagene's journal system reads with unbound tokens (on the allow-list).
    settings.FHIR_UNBOUND_READ_CLIENTS = frozenset({"epj-sagene"})
    token = epj_user_token(helseid, "hilde-sand", None, client_id="epj-sagene")
    response = requests.get(
        f"{live_server.url}/fhir/Observation",
        params={"patient.identifier": f"{SYSTEM_FNR}|{patient_data}"},
        headers={"Authorization": f"Bearer {token}", "X-Access-Basis": "care", "X-Access-Reason": "Kontroll"},
        timeout=10,
    )
    assert response.status_code == 403, response.text
    assert _coded(response)[:2] == ("forbidden", "profession-not-covered")
    # A doctor at the same office, through the same system, is granted.
    token = epj_user_token(helseid, "ola-hansen", None, client_id="epj-sagene")
    response = requests.get(
        f"{live_server.url}/fhir/Observation",
        params={"patient.identifier": f"{SYSTEM_FNR}|{patient_data}"},
        headers={"Authorization": f"Bearer {token}", "X-Access-Basis": "care", "X-Access-Reason": "Kontroll"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_lastn_refusal_is_403_too(live_server, helseid, patient_data):
    key = DpopKey()
    token = epj_user_token(helseid, "per-dahl", key, client_id=FJORDVIK_EPJ)
    response = _search(live_server, token, key, patient_data, path="Observation/$lastn")
    assert response.status_code == 403
    assert _coded(response)[1] == "no-agreement"


def test_missing_reason_is_400(live_server, helseid, patient_data):
    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    for reason in ("", "   "):
        response = _search(live_server, token, key, patient_data, basis="consent", reason=reason)
        assert response.status_code == 400, response.text
        code, coded, _diagnostics = _coded(response)
        assert (code, coded) == ("required", "reason-required")
        assert response.json()["issue"][0]["expression"] == ["X-Access-Reason"]
    assert AuditEvent.objects.filter(event="api.search", outcome="denied", data__denial="reason-required").count() == 2


def _normalised(response, pid):
    bundle = response.json()
    bundle["id"] = "-"
    return json.dumps(bundle, sort_keys=True).replace(pid, "PID")


def test_no_data_and_reserved_look_the_same(live_server, helseid, patient_data, oslo):
    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    nobody = demo.PATIENTS[1].pid
    record_reservation(
        municipality=Organisation.objects.get(orgnr=demo.OSLO),
        patient_value=patient_data,
        objected_on=timezone.localdate(),
        by=ADMIN,
    )
    reserved = _search(live_server, token, key, patient_data)
    empty = _search(live_server, token, key, nobody)
    assert reserved.status_code == empty.status_code == 200
    assert reserved.json()["total"] == 0 and "entry" not in reserved.json() or reserved.json()["entry"] == []
    assert _normalised(reserved, patient_data) == _normalised(empty, nobody)
    assert dict(reserved.headers).keys() == dict(empty.headers).keys()
    # $lastn and a count alike.
    for path in ("Observation/$lastn",):
        a = _search(live_server, token, key, patient_data, path=path)
        b = _search(live_server, token, key, nobody, path=path)
        assert a.status_code == b.status_code == 200
        assert _normalised(a, patient_data) == _normalised(b, nobody)
    denials = AuditEvent.objects.filter(event="api.search", outcome="denied").order_by("pk")
    assert [e.data["denial"] for e in denials] == ["reserved", "no-agreement"]


def test_read_by_id_of_a_reserved_patients_measurement_is_404(live_server, helseid, patient_data, oslo):
    from sharing.measurements.models import Measurement

    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    measurement = Measurement.objects.filter(patient_value=patient_data).first()
    record_reservation(
        municipality=Organisation.objects.get(orgnr=demo.OSLO),
        patient_value=patient_data,
        objected_on=timezone.localdate(),
        by=ADMIN,
    )
    response = requests.get(
        f"{live_server.url}/fhir/Observation/{measurement.pk}", auth=DpopAuth(token, key), timeout=10
    )
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"
    assert AuditEvent.objects.get(event="api.read").data["denial"] == "reserved"


def test_diagnostics_follow_accept_language(live_server, helseid, patient_data):
    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    url = f"{live_server.url}/fhir/Observation/00000000-0000-4000-8000-000000000000"
    norwegian = requests.get(url, auth=DpopAuth(token, key), timeout=10).json()["issue"][0]["diagnostics"]
    english = requests.get(url, headers={"Accept-Language": "en-GB,en;q=0.9"}, auth=DpopAuth(token, key), timeout=10)
    assert norwegian == "Observasjonen finnes ikke, eller du har ikke tilgang til den."
    assert english.json()["issue"][0]["diagnostics"] == "No such Observation, or you may not see it."
