"""Patient reads: decided, logged, and only then returned (sharing.access.actions)."""

import datetime as dt
from dataclasses import dataclass
from unittest import mock

import pytest
from django.utils import timezone

from sharing.access.actions import (
    AuditUnavailable,
    export_patient,
    open_patient,
    read_patient,
    view_patient,
    view_patient_series,
)
from sharing.access.decision import Basis, Decision, Denial
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor, Role
from sharing.identifiers import NationalId, parse_national_id
from sharing.measurements.models import Measurement
from tests.actors import INGRID
from tests.sharing.audit.helpers import audit_writes_fail


@dataclass(frozen=True)
class Lookup:
    decision: Decision
    measurements: list[Measurement]


def look_up_patient(*, by: Actor, patient: NationalId, basis: Basis, reason: str) -> Lookup:
    """Every measurement the decision allows, as rows, through the one door (logged as a lookup)."""

    def describe(rows: list[Measurement]) -> dict[str, object]:
        return {"kinds": sorted({m.kind for m in rows}), "count": len(rows)}

    access = read_patient(
        by=by,
        patient=patient,
        basis=basis,
        reason=reason,
        event="patient.lookup",
        gather=lambda qs, _decision: list(qs.order_by("kind", "-effective")),
        describe=describe,
    )
    return Lookup(access.decision, access.result or [])


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
        audit_writes_fail(),
        pytest.raises(AuditUnavailable),
    ):
        look_up_patient(by=INGRID, patient=parse_national_id(patient_data), basis=Basis.CARE, reason="x")
    assert not AuditEvent.objects.filter(event="patient.lookup").exists()


# --- read_patient: the one path every page, export and API read takes -------------------------


@pytest.mark.django_db
def test_read_patient_gathers_only_what_the_decision_allows_and_logs_what_it_says(patient_data):
    ola = Actor(hpr_number="565502011", security_level="4", orgnr_parent="313333019", name="Ola Hansen")
    seen: list[Measurement] = []

    def gather(qs, decision):
        seen.extend(qs)
        return len(seen)

    access = read_patient(
        by=ola,
        patient=parse_national_id(patient_data),
        basis=Basis.CARE,
        reason="Kontroll",
        event="patient.test",
        gather=gather,
        describe=lambda n: {"count": n},
    )
    assert access.decision.granted and access.result == len(seen) > 0
    oldest_allowed = timezone.now() - dt.timedelta(days=90, minutes=5)
    assert all(m.effective >= oldest_allowed and m.status not in Measurement.HIDDEN_STATUSES for m in seen)
    event = AuditEvent.objects.get(event="patient.test")
    assert event.data == {
        "agreements": access.decision.agreement_ids,
        "municipalities": ["311111019"],
        "count": len(seen),
    }


@pytest.mark.django_db
def test_read_patient_never_gathers_when_denied(patient_data):
    gather = mock.Mock()
    access = read_patient(
        by=PER,
        patient=parse_national_id(patient_data),
        basis=Basis.CARE,
        reason="x",
        event="patient.test",
        gather=gather,
        describe=lambda _result: {},
    )
    assert access.result is None and not access.decision.granted
    assert gather.call_count == 0
    assert AuditEvent.objects.get(event="patient.test").outcome == "denied"


@pytest.mark.django_db
def test_read_patient_returns_nothing_when_the_record_cannot_be_written(patient_data):
    with (
        audit_writes_fail(),
        pytest.raises(AuditUnavailable),
    ):
        view_patient(by=INGRID, patient=parse_national_id(patient_data), basis=Basis.CARE, reason="x")


@pytest.mark.django_db
def test_open_patient_says_who_and_what_without_the_measurements(patient_data):
    access = open_patient(by=INGRID, patient=parse_national_id(patient_data), basis=Basis.CARE, reason="Innlagt")
    assert access.result is not None
    assert access.result.patient_display == "Kari Nordmann"
    assert set(access.result.kinds) == {"body_weight", "blood_pressure", "heart_rate", "oxygen_saturation"}
    event = AuditEvent.objects.get(event="patient.lookup")
    assert (event.data["view"], event.data["count"]) == ("lookup", access.result.count)


@pytest.mark.django_db
def test_view_patient_logs_the_overview_and_names_the_agreement(patient_data):
    access = view_patient(by=INGRID, patient=parse_national_id(patient_data), basis=Basis.CARE, reason="Innlagt")
    assert access.result is not None
    [agreement] = access.result.agreements
    assert (agreement.municipality_name, agreement.lookback_days, agreement.kinds) == ("Oslo kommune", None, ())
    kinds = [k.kind for k in access.result.overview.kinds]
    assert kinds == ["blood_pressure", "heart_rate", "oxygen_saturation", "body_weight"]
    event = AuditEvent.objects.get(event="patient.view")
    assert (event.data["view"], event.data["kinds"], event.data["count"]) == (
        "overview",
        kinds,
        access.result.overview.count,
    )


@pytest.mark.django_db
def test_series_and_export_log_their_kind_period_and_count(patient_data):
    patient = parse_national_id(patient_data)
    now = timezone.now()
    series = view_patient_series(
        by=INGRID,
        patient=patient,
        basis=Basis.CARE,
        reason="x",
        kind="heart_rate",
        start=now - dt.timedelta(days=7),
        end=now,
    )
    assert series.result is not None and 0 < series.result.count <= 8
    export = export_patient(by=INGRID, patient=patient, basis=Basis.CARE, reason="x")
    assert export.result is not None and len(export.result) > 300
    view, exported = AuditEvent.objects.filter(event__in=["patient.view", "patient.export"]).order_by("id")
    assert (view.event, view.data["kinds"], view.data["count"]) == (
        "patient.view",
        ["heart_rate"],
        series.result.count,
    )
    assert (exported.event, exported.data["count"], exported.data["format"]) == (
        "patient.export",
        len(export.result),
        "csv",
    )
