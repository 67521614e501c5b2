"""Retention: a patient's measurements are deleted a set time after their last one, per municipality.

The rule is the municipality's instruction, recorded on its data processing agreement in force
(``ProcessingAgreement.retention_months``; none: kept). A patient's data from one municipality
goes as a whole (measurements, earlier versions, raw resources, the patient-source row) once
their latest measurement from that municipality is older than the rule. ``purge`` counts, and
with ``apply`` deletes; each municipality's outcome is one audit record. Audit records are not
touched: they are kept by their own rule (``purge_audit``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from sharing.agreements.models import ProcessingAgreement
from sharing.audit.actions import record_event
from sharing.core.actor import Actor

from .models import Measurement, MeasurementQuerySet, MeasurementVersion, PatientCode, PatientSource

EVENT_PURGE = "measurement.purge"


@dataclass(frozen=True)
class Purged:
    municipality: str
    months: int
    cutoff: dt.datetime
    patients: int
    measurements: int


def rules(*, on: dt.date) -> dict[str, int]:
    """Each municipality's retention in months, from its agreement in force (the latest one wins)."""
    found: dict[str, int] = {}
    agreements = ProcessingAgreement.objects.in_force(on=on).filter(retention_months__isnull=False)
    for dpa in agreements.order_by("valid_from").select_related("municipality"):
        if dpa.retention_months is not None:
            found[dpa.municipality.orgnr] = dpa.retention_months
    return found


def purge(*, now: dt.datetime, by: Actor, apply: bool = False) -> list[Purged]:
    """Count (and with ``apply`` delete) the data past each municipality's retention; audited per municipality."""
    outcome = []
    for orgnr, months in sorted(rules(on=timezone.localdate(now)).items()):
        cutoff = months_before(now, months)
        last = (
            Measurement.objects.filter(source_orgnr=orgnr)
            .values("patient_value")
            .annotate(last=Max("effective"))
            .filter(last__lt=cutoff)
        )
        patients = sorted(row["patient_value"] for row in last)
        rows = Measurement.objects.filter(source_orgnr=orgnr, patient_value__in=patients)
        with transaction.atomic():
            count = rows.count()
            if apply and patients:
                delete_rows(rows)
                PatientSource.objects.filter(source_orgnr=orgnr, patient_value__in=patients).delete()
                PatientCode.objects.filter(source_orgnr=orgnr, patient_value__in=patients).delete()
            record_event(
                event=EVENT_PURGE,
                outcome="success",
                by=by,
                data={
                    "municipality": orgnr,
                    "retention_months": months,
                    "cutoff": cutoff.isoformat(),
                    "patients": len(patients),
                    "measurements": count,
                    "dry_run": not apply,
                },
                municipalities=[orgnr],
            )
        outcome.append(Purged(orgnr, months, cutoff, len(patients), count))
    return outcome


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day if shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def delete_rows(rows: MeasurementQuerySet) -> int:
    """Delete measurements with their earlier versions (protected) and raw resources (cascade)."""
    ids = list(rows.values_list("pk", flat=True))
    MeasurementVersion.objects.filter(measurement__in=ids).delete()
    _total, per_model = Measurement.objects.filter(pk__in=ids).delete()
    return per_model.get(Measurement._meta.label, 0)
