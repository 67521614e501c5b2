"""purge_measurements: a patient's data goes N months after their last measurement, per municipality's
rule; dry run by default, audited, safe to re-run; run as the least-privilege runtime role."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from devdata import demo
from sharing.agreements.models import ProcessingAgreement
from sharing.audit.models import AuditEvent
from sharing.fhir.build import observation
from sharing.fhir.ingest import normalise_for
from sharing.measurements.actions import record_measurements
from sharing.measurements.models import Measurement, MeasurementVersion, PatientCode, PatientSource, RawResource
from sharing.measurements.retention import months_before

pytestmark = pytest.mark.django_db
KARI, PER = demo.PATIENTS[0], demo.PATIENTS[1]


def store(patient: Any, days_ago: int, value: float = 70, municipality: str = demo.OSLO) -> None:
    now = timezone.now()
    resource = observation(
        kind="heart_rate",
        patient=patient.pid,
        patient_name=patient.name,
        effective=now - dt.timedelta(days=days_ago),
        value=value,
        municipality_orgnr=municipality,
        identifier=f"hr-{patient.pid}-{days_ago}",
    )
    record_measurements(items=[(normalise_for(resource, municipality, now=now), resource)], source_orgnr=municipality)


def run(*args: str) -> str:
    out = StringIO()
    call_command("purge_measurements", *args, stdout=out)
    return out.getvalue()


def test_purge_after_the_rule_dry_run_first(oslo: Any) -> None:
    ProcessingAgreement.objects.filter(municipality__orgnr=demo.OSLO).update(retention_months=12)
    store(KARI, 500)
    store(KARI, 400)
    store(KARI, 400, value=75)  # a correction: an earlier version is kept, and must go too
    store(PER, 500)
    store(PER, 10)  # Per measured recently: all of his stays
    store(KARI, 500, municipality=demo.BAERUM)  # Bærum has no rule: kept
    assert MeasurementVersion.objects.count() == 1
    before = Measurement.objects.count()

    dry = run()
    assert f"{demo.OSLO}: Would delete 2 measurements of 1 patients" in dry
    assert Measurement.objects.count() == before
    assert AuditEvent.objects.get(event="measurement.purge").data["dry_run"] is True

    done = run("--apply")
    assert f"{demo.OSLO}: Deleted 2 measurements of 1 patients" in done
    left = set(Measurement.objects.values_list("patient_value", "source_orgnr"))
    assert left == {(PER.pid, demo.OSLO), (demo.PATIENTS[0].pid, demo.BAERUM)}
    assert not MeasurementVersion.objects.exists()
    assert RawResource.objects.count() == Measurement.objects.count()
    assert not PatientSource.objects.filter(patient_value=KARI.pid, source_orgnr=demo.OSLO).exists()
    codes = set(PatientCode.objects.values_list("patient_value", "source_orgnr"))
    assert codes == left  # the purged patient's codes went with the data, the others' stayed
    record = AuditEvent.objects.filter(event="measurement.purge").latest("id")
    assert (record.data["measurements"], record.data["patients"], record.data["dry_run"]) == (2, 1, False)
    assert record.municipalities.split() == [demo.OSLO]

    assert "Deleted 0 measurements of 0 patients" in run("--apply")  # safe to re-run


def test_no_rule_no_purge(oslo: Any) -> None:
    store(KARI, 5000)
    assert "No municipality has a retention rule." in run("--apply")
    assert Measurement.objects.count() == 1


def test_months_before_clamps_the_day() -> None:
    moment = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)
    assert months_before(moment, 1) == dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)
    assert months_before(moment, 15) == dt.datetime(2024, 12, 31, 12, tzinfo=dt.UTC)
