"""FHIR search by either number of a patient whose D-number was replaced by a fødselsnummer."""

import datetime as dt

import pytest
import requests
from django.utils import timezone

from devdata import demo
from portal.login.devclient import DpopAuth, epj_user_token
from sharing.audit.models import AuditEvent
from sharing.identifiers import SYSTEM_DNR, SYSTEM_FNR
from sharing.measurements.identity import link_identity, parse_identifier
from tests.sharing.access.test_identity_links import ADMIN, DNR, send_under

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def search(live_server, helseid, patient_data, dpop_key):
    """Lovisenberg's EPJ acting for Ingrid Berg: the total and subjects of a search by one identifier."""
    send_under(DNR, SYSTEM_DNR, days=20, end=timezone.localdate() - dt.timedelta(days=130))
    token = epj_user_token(helseid, "ingrid-berg", dpop_key)

    def run(system: str, value: str) -> tuple[int, set[str]]:
        url = f"{live_server.url}/fhir/Observation"
        params = {"patient.identifier": f"{system}|{value}", "_count": "1000"}
        answer = requests.get(url, params=params, auth=DpopAuth(token, dpop_key), timeout=30)
        assert answer.status_code == 200, answer.text
        bundle = answer.json()
        subjects = {e["resource"]["subject"]["identifier"]["value"] for e in bundle.get("entry", [])}
        return bundle["total"], subjects

    return run


def test_search_by_either_number_returns_the_whole_history(search, patient_data):
    fnr_only, subjects = search(SYSTEM_FNR, patient_data)
    assert subjects == {patient_data}
    link_identity(
        old=parse_identifier(DNR),
        new=parse_identifier(patient_data),
        municipality=demo.OSLO,
        instruction="Sak 1",
        by=ADMIN,
    )
    by_fnr = search(SYSTEM_FNR, patient_data)
    by_dnr = search(SYSTEM_DNR, DNR)
    assert by_fnr == by_dnr
    assert by_fnr[1] == {patient_data, DNR} and by_fnr[0] > fnr_only
    records = AuditEvent.objects.filter(event="api.search").order_by("-id")[:2]
    assert [(r.patient_value, r.data["linked_patients"], r.data["count"]) for r in records] == [
        (DNR, [patient_data], by_dnr[0]),
        (patient_data, [DNR], by_fnr[0]),
    ]
