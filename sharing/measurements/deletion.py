"""Deleting one patient's data on the municipality's instruction, with four eyes.

``request_deletion`` records the instruction (one admin); ``confirm_deletion`` by a second admin
of the same municipality deletes the patient's measurements from that municipality (with their
earlier versions, raw resources and the patient-source row). Both steps are audited; the audit
records are kept by their own rule.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sharing.audit.actions import record_event
from sharing.core.actor import Actor

from .models import Measurement, PatientCode, PatientDeletion, PatientSource
from .retention import delete_rows


def deletions_of(municipality: str) -> list[PatientDeletion]:
    """The municipality's deletion requests, newest first (the admin page's list)."""
    return list(PatientDeletion.objects.filter(municipality_orgnr=municipality)[:100])


def deletion_of(municipality: str, pk: int) -> PatientDeletion | None:
    return PatientDeletion.objects.filter(municipality_orgnr=municipality, pk=pk).first()


def request_deletion(
    *, municipality: str, patient_system: str, patient_value: str, instruction: str, by: Actor
) -> PatientDeletion:
    if not by.pid:
        raise ValidationError(_("Only a person can ask for a deletion."))
    if not instruction.strip():
        raise ValidationError(_("Say which instruction from the municipality the deletion rests on."))
    pending = PatientDeletion.objects.filter(
        municipality_orgnr=municipality, patient_value=patient_value, confirmed_at__isnull=True
    )
    if pending.exists():
        raise ValidationError(_("A deletion for this patient is already waiting for confirmation."))
    with transaction.atomic():
        deletion = PatientDeletion.objects.create(
            municipality_orgnr=municipality,
            patient_system=patient_system,
            patient_value=patient_value,
            instruction=instruction.strip(),
            requested_by=by.name,
            requested_by_pid=by.pid,
        )
        record_event(
            event="measurement.deletion_request",
            outcome="success",
            by=by,
            patient_system=patient_system,
            patient_value=patient_value,
            data={"deletion": deletion.pk, "instruction": deletion.instruction},
            municipalities=[municipality],
        )
    return deletion


def confirm_deletion(*, deletion: PatientDeletion, municipality: str, by: Actor) -> PatientDeletion:
    """The second admin's confirmation: the data is deleted now. Raises ValidationError for the
    requester themselves, another municipality's request, or one already done."""
    with transaction.atomic():
        row = PatientDeletion.objects.select_for_update().get(pk=deletion.pk)
        if row.municipality_orgnr != municipality:
            raise ValidationError(_("This deletion belongs to another municipality."))
        if row.done:
            raise ValidationError(_("This deletion is already done."))
        if not by.pid or by.pid == row.requested_by_pid:
            raise ValidationError(_("Another administrator must confirm the deletion (four eyes)."))
        rows = Measurement.objects.filter(source_orgnr=municipality, patient_value=row.patient_value)
        count = delete_rows(rows)
        PatientSource.objects.filter(source_orgnr=municipality, patient_value=row.patient_value).delete()
        PatientCode.objects.filter(source_orgnr=municipality, patient_value=row.patient_value).delete()
        row.confirmed_at, row.confirmed_by, row.confirmed_by_pid = timezone.now(), by.name, by.pid
        row.measurements_deleted = count
        row.save(update_fields=["confirmed_at", "confirmed_by", "confirmed_by_pid", "measurements_deleted"])
        record_event(
            event="measurement.delete",
            outcome="success",
            by=by,
            patient_system=row.patient_system,
            patient_value=row.patient_value,
            data={"deletion": row.pk, "requested_by": row.requested_by, "measurements": count},
            municipalities=[municipality],
        )
    return row
