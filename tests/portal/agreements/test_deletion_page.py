"""Deleting one patient's data on the municipality's instruction: one admin asks, a second confirms."""

import datetime as dt

import pytest
from django.utils import timezone

from devdata import demo
from sharing.access.roles import grant_role
from sharing.agreements.models import Organisation
from sharing.audit.models import AuditEvent
from sharing.core.actor import Role
from sharing.fhir.build import observation
from sharing.fhir.ingest import normalise_for
from sharing.measurements.actions import record_measurements
from sharing.measurements.models import Measurement, PatientCode, PatientDeletion, PatientSource

pytestmark = pytest.mark.django_db
KARI, PER = demo.PATIENTS[0], demo.PATIENTS[1]
SECOND_ADMIN = ("04916517721", "Ola Hansen")


def _store(patient, municipality=demo.OSLO):
    now = timezone.now()
    resources = [
        observation(
            kind="heart_rate",
            patient=patient.pid,
            patient_name=patient.name,
            effective=now - dt.timedelta(hours=h),
            value=70 + h,
            municipality_orgnr=municipality,
        )
        for h in range(1, 4)
    ]
    items = [(normalise_for(r, municipality, now=now), r) for r in resources]
    record_measurements(items=items, source_orgnr=municipality)


def test_four_eyes_deletion(login, client):
    from django.contrib.auth import get_user_model

    from portal.login.models import Profile

    _store(KARI)
    _store(PER)
    _store(KARI, municipality=demo.BAERUM)
    astrid = login("astrid")
    answer = astrid.post("/kommune/sletting/", {"patient": KARI.pid, "instruction": "Oslo kommune, sak 26/77"})
    assert answer.status_code == 302
    deletion = PatientDeletion.objects.get()
    assert Measurement.objects.filter(patient_value=KARI.pid).count() == 6  # nothing deleted yet

    page = astrid.get("/kommune/sletting/").content.decode()
    assert "Venter på en annen administrator" in page or "Waiting for another administrator" in page
    # The list shows the number masked and the name Oslo's own system sent, never the full number.
    assert f"{KARI.pid[:6]} *****" in page and KARI.name in page and KARI.pid not in page
    astrid.post(f"/kommune/sletting/{deletion.pk}/bekreft/", {"patient": KARI.pid})  # the same person cannot confirm
    assert not PatientDeletion.objects.get().done
    assert Measurement.objects.filter(patient_value=KARI.pid, source_orgnr=demo.OSLO).count() == 3

    oslo = Organisation.objects.get(orgnr=demo.OSLO)
    grant_role(pid=SECOND_ADMIN[0], role=Role.MUNICIPALITY_ADMIN, municipality=oslo, by=demo.SEEDER)
    user = get_user_model().objects.create_user(username="helseid-ola")
    Profile.objects.create(
        user=user, sub="sub-ola", pid=SECOND_ADMIN[0], name=SECOND_ADMIN[1], orgnr_parent=demo.OSLO, security_level="4"
    )
    client.force_login(user)
    # The second admin types the number from the instruction: another number (or none) deletes nothing.
    for typed in ("", PER.pid, "12345678901"):
        assert client.post(f"/kommune/sletting/{deletion.pk}/bekreft/", {"patient": typed}).status_code == 302
        assert not PatientDeletion.objects.get().done
    assert Measurement.objects.filter(patient_value=KARI.pid, source_orgnr=demo.OSLO).count() == 3
    assert client.post(f"/kommune/sletting/{deletion.pk}/bekreft/", {"patient": KARI.pid}).status_code == 302
    done = PatientDeletion.objects.get()
    assert (done.done, done.measurements_deleted, done.confirmed_by) == (True, 3, SECOND_ADMIN[1])
    assert not Measurement.objects.filter(patient_value=KARI.pid, source_orgnr=demo.OSLO).exists()
    assert Measurement.objects.filter(patient_value=KARI.pid, source_orgnr=demo.BAERUM).count() == 3  # not Oslo's
    assert Measurement.objects.filter(patient_value=PER.pid).count() == 3
    assert not PatientSource.objects.filter(patient_value=KARI.pid, source_orgnr=demo.OSLO).exists()
    assert not PatientCode.objects.filter(patient_value=KARI.pid, source_orgnr=demo.OSLO).exists()
    assert PatientCode.objects.filter(patient_value=KARI.pid, source_orgnr=demo.BAERUM).exists()
    events = list(AuditEvent.objects.filter(event__startswith="measurement.").order_by("id"))
    assert [e.event for e in events] == ["measurement.deletion_request", "measurement.delete"]
    assert all(e.patient_value == KARI.pid for e in events)
    assert events[1].data["measurements"] == 3


def test_a_bad_number_changes_nothing(login):
    answer = login("astrid").post("/kommune/sletting/", {"patient": "12345678901", "instruction": "x"})
    assert answer.status_code == 400
    assert not PatientDeletion.objects.exists()


def test_a_clinician_and_another_municipality_cannot(login):
    deletion = PatientDeletion.objects.create(
        municipality_orgnr=demo.OSLO,
        patient_system="urn:oid:2.16.578.1.12.4.1.4.1",
        patient_value=KARI.pid,
        instruction="x",
        requested_by="Ola Hansen",
        requested_by_pid=SECOND_ADMIN[0],
    )
    assert login("ingrid").get("/kommune/sletting/").status_code == 403
    assert login("berit").post(f"/kommune/sletting/{deletion.pk}/bekreft/").status_code == 404
    assert not PatientDeletion.objects.get().done
