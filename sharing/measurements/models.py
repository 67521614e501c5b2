"""One narrow row per measurement, made for reading; the raw resource lives beside it."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import models


class MeasurementQuerySet(models.QuerySet["Measurement"]):
    def for_patient(self, value: str) -> MeasurementQuerySet:
        return self.filter(patient_value=value)

    def visible(self) -> MeasurementQuerySet:
        """What clinicians may see: entered-in-error and cancelled stay stored, but hidden."""
        return self.exclude(status__in=Measurement.HIDDEN_STATUSES)

    def in_scope(
        self, *, municipalities: list[str], kinds: frozenset[str] | None, since: dt.datetime | None
    ) -> MeasurementQuerySet:
        """Restrict to what an access decision granted: sources, kinds and look-back window."""
        qs = self.filter(source_orgnr__in=municipalities)
        if kinds is not None:
            qs = qs.filter(kind__in=sorted(kinds))
        if since is not None:
            qs = qs.filter(effective__gte=since)
        return qs


class Measurement(models.Model):
    HIDDEN_STATUSES = ("entered-in-error", "cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient_system = models.CharField(max_length=64)
    patient_value = models.CharField(max_length=32)
    patient_display = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=32)
    code_system = models.CharField(max_length=100)
    code = models.CharField(max_length=64)
    code_display = models.CharField(max_length=200, blank=True)
    effective = models.DateTimeField()
    effective_end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20)
    value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    value_code = models.CharField(max_length=64, blank=True)
    value_display = models.CharField(max_length=200, blank=True)
    # Blood pressure parts and NEWS2 sub-scores, keyed by short names ("systolic", ...).
    components = models.JSONField(default=dict, blank=True)
    reference_low = models.FloatField(null=True, blank=True)
    reference_high = models.FloatField(null=True, blank=True)
    # The municipality (data controller) that sent it, from the sending client's token.
    source_orgnr = models.CharField(max_length=9)
    # Idempotency: the sender's identifier, else the resource id, else a content hash.
    dedup_key = models.CharField(max_length=300)
    flags = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    objects = MeasurementQuerySet.as_manager()

    class Meta:
        constraints = [
            # The same measurement re-sent by the same municipality is stored once.
            models.UniqueConstraint(fields=["source_orgnr", "dedup_key"], name="measurement_dedup"),
        ]
        indexes = [
            # Patient page, charts and FHIR search: one patient, one kind, a time range.
            models.Index(fields=["patient_value", "kind", "effective"], name="measurement_patient_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.patient_value} {self.effective:%Y-%m-%d %H:%M}"

    @property
    def display_value(self) -> str:
        if self.kind == "blood_pressure":
            sys_, dia = self.components.get("systolic"), self.components.get("diastolic")
            return f"{sys_:g}/{dia:g}" if sys_ is not None and dia is not None else ""
        if self.value is not None:
            return f"{self.value:g}"
        return self.value_display or self.value_code


class RawResource(models.Model):
    """The resource exactly as received, kept apart so the measurement table stays narrow."""

    measurement = models.OneToOneField(Measurement, primary_key=True, on_delete=models.CASCADE, related_name="raw")
    resource = models.JSONField()

    def __str__(self) -> str:
        return f"raw {self.measurement_id}"


class PatientSource(models.Model):
    """Which municipalities hold data on a patient: the access decision's first question.

    Kept by ingest (insert-if-absent), so deciding never scans a patient's measurements.
    """

    patient_value = models.CharField(max_length=32)
    patient_system = models.CharField(max_length=64)
    source_orgnr = models.CharField(max_length=9)
    display = models.CharField(max_length=200, blank=True)
    first_seen = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # access.decide looks up by patient; ingest inserts each pair once.
            models.UniqueConstraint(fields=["patient_value", "source_orgnr"], name="patient_source_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.patient_value} @ {self.source_orgnr}"
