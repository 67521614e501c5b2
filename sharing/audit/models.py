"""The access log: append-only, no foreign keys out of it, each record chained to the one before.

Nothing here may be changed or deleted once written. On PostgreSQL the runtime role may only
SELECT and INSERT (`grant_app_role`), and triggers refuse UPDATE, DELETE and TRUNCATE to anyone;
the one exception is the retention purge, the owner's database function `audit_purge()`, which
writes its checkpoint and deletes what it covers (migration 0006). `save()` refuses too, so a bug
surfaces in Python before it reaches the database.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

from . import events
from .scope import AuditScope


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_patient(self, value: str) -> AuditEventQuerySet:
        return self.filter(patient_value=value)

    def about_municipalities(self, orgnrs: frozenset[str] | None) -> AuditEventQuerySet:
        """Events about these municipalities' data; None means the whole service (no restriction)."""
        if orgnrs is None:
            return self
        rows = AuditEventMunicipality.objects.filter(event=OuterRef("pk"), municipality__in=sorted(orgnrs))
        return self.filter(Exists(rows))

    def in_scope(self, scope: AuditScope) -> AuditEventQuerySet:
        """The events `scope` may read: about its municipalities (all for the whole service), or
        done by people acting for an organisation in `scope.staff_of` (an organisation auditor)."""
        if scope.municipalities is None:
            return self
        about = Q(pk__in=[])
        if scope.municipalities:
            rows = AuditEventMunicipality.objects.filter(
                event=OuterRef("pk"), municipality__in=sorted(scope.municipalities)
            )
            about = Q(Exists(rows))
        if scope.staff_of:
            about |= Q(org_parent__in=sorted(scope.staff_of))
        return self.filter(about)

    def newest_first(self) -> AuditEventQuerySet:
        return self.order_by("-occurred_at", "-id")

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
    event = models.CharField(max_length=64)  # namespaced code, see events.py
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
    # The municipalities (data controllers) whose data the event is about, space-separated and
    # sorted. Part of the chained content; AuditEventMunicipality indexes it for the auditors.
    municipalities = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)  # unique: Meta.constraints

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            # Each record has at most one successor: two writers that read the same last record
            # cannot both append, so the chain never forks, whatever happens to the lock.
            models.UniqueConstraint(fields=["prev_hash"], name="audit_one_successor"),
            # Looked up by equality only: a named constraint, so no LIKE index beside it (every
            # record would write one more random-key index; sharing/core/pattern_index.py).
            models.UniqueConstraint(fields=["hash"], name="audit_auditevent_hash_key"),
        ]
        indexes = [
            # Auditor search and the patient's access report: one patient, newest first.
            models.Index(fields=["patient_value", "occurred_at"], name="audit_patient_time_idx"),
            # The service auditor's newest-first listing, period filters, the review rules' window.
            models.Index(fields=["occurred_at"], name="audit_time_idx"),
            # Event filter, purge checkpoints (also read by the delete trigger), review marks.
            models.Index(fields=["event", "occurred_at"], name="audit_event_time_idx"),
            # "This user's events": the auditor follows a person from a result row.
            models.Index(fields=["actor_sub", "occurred_at"], name="audit_actor_time_idx"),
            # An organisation auditor's scope: its own staff's events, newest first (issue 16).
            models.Index(fields=["org_parent", "occurred_at"], name="audit_org_time_idx"),
            # The hourly lookup limit: one person's counted lookups, without reading the records.
            models.Index(
                fields=["actor_sub", "occurred_at"], condition=events.counted_lookups(), name="audit_lookup_rate_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.event} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("AuditEvent records are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("AuditEvent records are immutable.")

    @property
    def municipality_list(self) -> list[str]:
        return self.municipalities.split()


class AuditEventMunicipality(models.Model):
    """Index of AuditEvent.municipalities: one row per event and municipality it is about.

    Lets a municipality's auditor search only their own events with an index, on PostgreSQL and
    SQLite alike. Written with the event, in the same transaction; as append-only as the event.
    """

    event = models.ForeignKey(AuditEvent, on_delete=models.DO_NOTHING, related_name="municipality_rows", db_index=False)
    municipality = models.CharField(max_length=9)
    # Copied from the event so that one index serves "municipality M, newest first".
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            # "Is event E about municipality M?": the semi-join behind every scoped search.
            models.UniqueConstraint(fields=["event", "municipality"], name="audit_municipality_unique"),
        ]
        indexes = [
            # A municipality auditor's newest-first listing and period filter.
            models.Index(fields=["municipality", "occurred_at"], name="audit_municipality_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} @ {self.municipality}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("AuditEvent records are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("AuditEvent records are immutable.")


class AuditPurge(models.Model):
    """The ledger of retention purges, written only by the owner's purge function.

    One row per purge, beside the `audit.purge` checkpoint record it wrote. On PostgreSQL the
    runtime role may only read it, and the database refuses an insert outside `audit_purge()`,
    so `verify_audit` can tell a checkpoint the purge wrote from one someone else slipped in.
    """

    checkpoint_id = models.BigIntegerField(unique=True)
    checkpoint_hash = models.CharField(max_length=64)
    through_id = models.BigIntegerField()
    through_hash = models.CharField(max_length=64)
    count = models.BigIntegerField()
    cutoff = models.DateTimeField()
    purged_at = models.DateTimeField()
    purged_by = models.CharField(max_length=64)  # the database role that ran the purge

    def __str__(self) -> str:
        return f"purge through {self.through_id} (checkpoint {self.checkpoint_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("AuditPurge records are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("AuditPurge records are immutable.")
