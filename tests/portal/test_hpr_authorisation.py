"""HPR authorisation in the decision, end to end over real HTTP: hpr_details from devidp's userinfo
reach the decision; a revoked authorisation and a profession the agreement does not cover are
refused, each with its own code (in the log) and its own Norwegian message."""

import pytest

from sharing.audit.models import AuditEvent
from tests.conftest import PATIENT

pytestmark = pytest.mark.django_db(transaction=True)


def lookup(client):
    return client.post("/", {"national_id": PATIENT, "basis": "care", "reason": "Innlagt"})


def test_valid_authorisation_is_granted(client, idp_browser, patient_data):
    assert idp_browser.login(client, "ingrid-berg")["Location"] == "/"
    assert lookup(client).status_code == 302


def test_revoked_authorisation_is_refused(client, idp_browser, patient_data):
    assert idp_browser.login(client, "knut-rud")["Location"] == "/"
    response = lookup(client)
    assert response.status_code == 403
    assert "Helsepersonellregisteret (HPR) viser ingen autorisasjon" in response.content.decode()
    denied = AuditEvent.objects.get(event="patient.lookup")
    assert (denied.outcome, denied.data["denial"]) == ("denied", "no-authorisation")


def test_profession_the_agreement_does_not_cover_is_refused(client, idp_browser, patient_data):
    assert idp_browser.login(client, "hilde-sand")["Location"] == "/"
    response = lookup(client)
    assert response.status_code == 403
    assert "dekker ikke yrket ditt" in response.content.decode()
    denied = AuditEvent.objects.get(event="patient.lookup")
    assert (denied.outcome, denied.data["denial"]) == ("denied", "profession-not-covered")
