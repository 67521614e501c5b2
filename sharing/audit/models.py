"""The access log: append-only, no foreign keys, each record chained to the one before.

Nothing here may be changed or deleted once written. The database refuses UPDATE,
DELETE and TRUNCATE (triggers in the migrations); `save()` refuses too, so a bug
surfaces in Python before it reaches the database.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_patient(self, value: str) -> AuditEventQuerySet:
        return self.filter(patient_value=value)

    def update(self, **kwargs: Any) -> int:
        raise TypeError("AuditEvent records are immutable.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("AuditEvent records are immutable.")


class AuditEvent(models.Model):
    class Outcome(models.TextChoices):
        GRANTED = "granted"
        DENIED = "denied"
        SUCCESS = "success"
        FAILURE = "failure"

    occurred_at = models.DateTimeField()
    event = models.CharField(max_length=64)  # namespaced code, e.g. "patient.lookup"
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    # Who, copied in full: no foreign keys, so deleting a user never touches the log.
    actor_sub = models.CharField(max_length=200, blank=True)
    actor_pid = models.CharField(max_length=32, blank=True)
    actor_hpr = models.CharField(max_length=32, blank=True)
    actor_name = models.CharField(max_length=200, blank=True)
    actor_role = models.CharField(max_length=64, blank=True)
    org_parent = models.CharField(max_length=9, blank=True)
    org_parent_name = models.CharField(max_length=200, blank=True)
    org_child = models.CharField(max_length=9, blank=True)
    org_child_name = models.CharField(max_length=200, blank=True)
    patient_system = models.CharField(max_length=64, blank=True)
    patient_value = models.CharField(max_length=32, blank=True)
    # What was made available: kinds, period, count; or before/after of a change.
    data = models.JSONField(default=dict, blank=True)
    basis = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    client_id = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            # Auditor search and the patient's access report: one patient, newest first.
            models.Index(fields=["patient_value", "occurred_at"], name="audit_patient_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.event} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("AuditEvent records are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("AuditEvent records are immutable.")
