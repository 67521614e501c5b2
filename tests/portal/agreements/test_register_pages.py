"""The service admin keeps the processor's register from a page; a municipality admin links numbers."""

import datetime as dt

import pytest
from django.utils import timezone

from devdata import demo
from sharing.agreements.models import ProcessingAgreement, SenderAuthorisation
from sharing.audit.models import AuditEvent
from sharing.identifiers import SYSTEM_DNR
from sharing.measurements.models import IdentityLink
from tests.sharing.access.test_identity_links import DNR, send_under

pytestmark = pytest.mark.django_db


def day(offset: int = 0) -> str:
    return (timezone.localdate() + dt.timedelta(days=offset)).strftime("%d.%m.%Y")


def sender_post(**extra):
    data = {
        "sender-municipality": "",
        "sender-client_id": "dho-oslo-2",
        "sender-client_name": "Oslo DHO 2",
        "sender-valid_from": day(),
        "sender-valid_to": "",
        "sender-instructed_by": "Oslo kommune, brev 2026-11-30",
    }
    return {**data, **extra}


def test_the_service_admin_authorises_a_sender_audited(login):
    from sharing.agreements.models import Organisation

    siri = login("siri")
    oslo = Organisation.objects.get(orgnr=demo.OSLO)
    answer = siri.post("/kommune/register/avsender/", sender_post(**{"sender-municipality": oslo.pk}))
    assert answer.status_code == 302
    row = SenderAuthorisation.objects.get(client_id="dho-oslo-2")
    assert (row.municipality.orgnr, row.instructed_by, row.recorded_by) == (
        demo.OSLO,
        "Oslo kommune, brev 2026-11-30",
        "Siri Moe",
    )
    record = AuditEvent.objects.get(event="sender.authorise", data__after__client_id="dho-oslo-2")
    assert record.actor_name == "Siri Moe"
    assert "dho-oslo-2" in siri.get("/kommune/register/").content.decode()


def test_the_same_rules_as_the_command_refuse_with_a_message(login):
    from sharing.agreements.models import Organisation

    siri = login("siri")
    lovisenberg = Organisation.objects.get(orgnr=demo.LOVISENBERG)
    before = SenderAuthorisation.objects.count()
    answer = siri.post("/kommune/register/avsender/", sender_post(**{"sender-municipality": lovisenberg.pk}))
    assert answer.status_code == 400  # not a municipality: not even offered
    oslo = Organisation.objects.get(orgnr=demo.OSLO)
    backwards = sender_post(**{"sender-municipality": oslo.pk, "sender-valid_to": day(-5)})
    answer = siri.post("/kommune/register/avsender/", backwards)
    assert answer.status_code == 400
    assert "Godkjenningen kan ikke slutte før den begynner." in answer.content.decode()
    assert SenderAuthorisation.objects.count() == before


def test_the_service_admin_ends_a_sender_and_a_processing_agreement(login):
    siri = login("siri")
    sender = SenderAuthorisation.objects.in_force(on=timezone.localdate()).filter(municipality__orgnr=demo.OSLO).first()
    assert siri.post(f"/kommune/register/avsender/{sender.pk}/avslutt/", {"on": day()}).status_code == 302
    sender.refresh_from_db()
    assert sender.valid_to == timezone.localdate()
    assert AuditEvent.objects.filter(event="sender.end").count() == 1
    dpa = ProcessingAgreement.objects.get(reference="DBA-0301-2025")
    assert siri.post(f"/kommune/register/avtale/{dpa.pk}/avslutt/", {"on": day(10)}).status_code == 302
    dpa.refresh_from_db()
    assert dpa.valid_to == timezone.localdate() + dt.timedelta(days=10)
    record = AuditEvent.objects.filter(event="processing_agreement.record").latest("id")
    assert record.data["before"]["valid_to"] is None and record.data["after"]["valid_to"] == dpa.valid_to.isoformat()


def test_an_end_before_the_start_or_no_date_changes_nothing(login):
    siri = login("siri")
    dpa = ProcessingAgreement.objects.get(reference="DBA-0301-2025")
    for bad in ({"on": "01.01.1990"}, {"on": "i morgen"}, {}):
        answer = siri.post(f"/kommune/register/avtale/{dpa.pk}/avslutt/", bad, follow=True)
        assert answer.status_code == 200
    dpa.refresh_from_db()
    assert dpa.valid_to is None
    assert siri.post("/kommune/register/avtale/999999/avslutt/", {"on": day()}).status_code == 404


def test_the_service_admin_records_a_processing_agreement(login):
    from sharing.agreements.models import Organisation

    baerum = Organisation.objects.get(orgnr=demo.BAERUM)
    data = {
        "dpa-municipality": baerum.pk,
        "dpa-reference": "DBA-3201-2027",
        "dpa-signed_on": day(-3),
        "dpa-valid_from": day(),
        "dpa-valid_to": "",
        "dpa-contact": "personvern@baerum.kommune.no",
        "dpa-retention_months": "24",
    }
    assert login("siri").post("/kommune/register/avtale/", data).status_code == 302
    dpa = ProcessingAgreement.objects.get(reference="DBA-3201-2027")
    assert (dpa.municipality.orgnr, dpa.retention_months) == (demo.BAERUM, 24)


@pytest.mark.parametrize("person", ["astrid", "jonas", "ingrid", "leif"])
def test_others_cannot_edit_the_register(login, person):
    client = login(person)
    assert client.get("/kommune/register/").status_code == 403
    assert client.post("/kommune/register/avsender/", sender_post()).status_code == 403
    sender = SenderAuthorisation.objects.first()
    assert client.post(f"/kommune/register/avsender/{sender.pk}/avslutt/", {"on": day()}).status_code == 403
    sender.refresh_from_db()
    assert sender.valid_to is None


def test_the_municipality_admin_links_numbers(login, patient_data):
    send_under(DNR, SYSTEM_DNR, days=3, end=timezone.localdate() - dt.timedelta(days=200))
    astrid = login("astrid")
    data = {"old": DNR, "new": patient_data, "instruction": "Oslo kommune, sak 26/90"}
    assert astrid.post("/kommune/identitet/", data).status_code == 302
    link = IdentityLink.objects.get()
    assert (link.municipality_orgnr, link.recorded_by) == (demo.OSLO, "Astrid Holm")
    assert DNR in astrid.get("/kommune/identitet/").content.decode()


def test_bad_links_from_the_page_say_why_and_change_nothing(login, patient_data):
    astrid = login("astrid")
    for data, message in [
        ({"old": "15888540013", "new": patient_data, "instruction": "x"}, "To fødselsnumre kobles aldri sammen."),
        ({"old": "12345", "new": patient_data, "instruction": "x"}, "11 siffer"),
    ]:
        answer = astrid.post("/kommune/identitet/", data)
        assert answer.status_code == 400
        assert message in answer.content.decode()
    # Bærum holds nothing under either number: its admin cannot link them.
    berit = login("berit")
    for data, message in [({"old": DNR, "new": patient_data, "instruction": "x"}, "ingen målinger under noen")]:
        answer = berit.post("/kommune/identitet/", data)
        assert answer.status_code == 400
        assert message in answer.content.decode()
    assert not IdentityLink.objects.exists()


def test_another_municipalitys_admin_does_not_see_the_links(login, patient_data):
    send_under(DNR, SYSTEM_DNR, days=3, end=timezone.localdate() - dt.timedelta(days=200))
    login("astrid").post("/kommune/identitet/", {"old": DNR, "new": patient_data, "instruction": "sak 1"})
    assert DNR not in login("berit").get("/kommune/identitet/").content.decode()
    assert login("jonas").get("/kommune/identitet/").status_code == 403
