"""The lookup action: decided, logged, and only then returned."""

from unittest import mock

import pytest
from django.db import DatabaseError

from sharing.access.actions import AuditUnavailable, look_up_patient
from sharing.access.actor import Actor, Role
from sharing.access.decision import Basis, Denial
from sharing.audit.models import AuditEvent
from sharing.identifiers import parse_national_id

INGRID = Actor(
    sub="sub-ingrid",
    pid="12837826592",
    hpr_number="565501872",
    name="Ingrid Berg",
    security_level="4",
    orgnr_parent="312222019",
    orgnr_child="312345013",
    roles=frozenset({Role.CLINICIAN}),
)
PER = Actor(
    sub="sub-per",
    pid="23868130261",
    hpr_number="565503020",
    name="Per Dahl",
    security_level="4",
    orgnr_parent="314444019",
    roles=frozenset({Role.CLINICIAN}),
)


@pytest.mark.django_db
def test_lookup_granted_with_agreement_and_logged(patient_data):
    lookup = look_up_patient(by=INGRID, patient=parse_national_id(patient_data), basis=Basis.CARE, reason="Innlagt")
    assert lookup.decision.granted
    assert len(lookup.measurements) > 300
    event = AuditEvent.objects.get(event="patient.lookup")
    assert (event.event, event.outcome, event.patient_value) == ("patient.lookup", "granted", patient_data)
    assert (event.actor_hpr, event.org_parent, event.reason, event.basis) == (
        "565501872",
        "312222019",
        "Innlagt",
        "care",
    )
    assert event.data["count"] == len(lookup.measurements)
    assert set(event.data["kinds"]) == {"body_weight", "blood_pressure", "heart_rate", "oxygen_saturation"}


@pytest.mark.django_db
def test_lookup_denied_without_agreement_and_logged(patient_data):
    lookup = look_up_patient(by=PER, patient=parse_national_id(patient_data), basis=Basis.CARE, reason="Innlagt")
    assert not lookup.decision.granted
    assert lookup.decision.denial == Denial.NO_AGREEMENT
    assert lookup.measurements == []
    event = AuditEvent.objects.get(event="patient.lookup")
    assert (event.outcome, event.data) == ("denied", {"denial": "no-agreement"})


@pytest.mark.django_db
def test_unknown_patient_is_denied_like_no_agreement(oslo):
    lookup = look_up_patient(by=INGRID, patient=parse_national_id("14904839826"), basis=Basis.CARE, reason="x")
    assert lookup.decision.denial == Denial.NO_AGREEMENT


@pytest.mark.django_db
def test_lookback_window_limits_what_the_gp_sees(patient_data):
    ola = Actor(hpr_number="565502011", security_level="4", orgnr_parent="313333019", name="Ola Hansen")
    lookup = look_up_patient(by=ola, patient=parse_national_id(patient_data), basis=Basis.CARE, reason="Kontroll")
    assert lookup.decision.granted
    oldest = min(m.effective for m in lookup.measurements)
    full = look_up_patient(by=INGRID, patient=parse_national_id(patient_data), basis=Basis.CARE, reason="x")
    assert len(lookup.measurements) < len(full.measurements)
    assert (max(m.effective for m in lookup.measurements) - oldest).days <= 90


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor", "denial"),
    [
        (Actor(hpr_number="", security_level="4", orgnr_parent="312222019"), Denial.NO_HPR),
        (Actor(hpr_number="565504033", security_level="3", orgnr_parent="312222019"), Denial.SECURITY_LEVEL),
        (Actor(hpr_number="565504033", security_level="4", orgnr_parent=""), Denial.NO_ORGANISATION),
    ],
)
def test_lookup_denied_for_missing_prerequisites(patient_data, actor, denial):
    lookup = look_up_patient(by=actor, patient=parse_national_id(patient_data), basis=Basis.CARE, reason="x")
    assert lookup.decision.denial == denial
    assert AuditEvent.objects.get(event="patient.lookup").outcome == "denied"


@pytest.mark.django_db
def test_emergency_needs_a_reason(patient_data):
    lookup = look_up_patient(by=INGRID, patient=parse_national_id(patient_data), basis=Basis.EMERGENCY, reason=" ")
    assert lookup.decision.denial == Denial.REASON_REQUIRED


@pytest.mark.django_db
def test_no_data_when_the_audit_write_fails(patient_data):
    with (
        mock.patch("sharing.audit.actions.AuditEvent.objects.create", side_effect=DatabaseError("disk full")),
        pytest.raises(AuditUnavailable),
    ):
        look_up_patient(by=INGRID, patient=parse_national_id(patient_data), basis=Basis.CARE, reason="x")
    assert not AuditEvent.objects.filter(event="patient.lookup").exists()
