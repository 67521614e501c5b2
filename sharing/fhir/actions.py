"""Audited writes of the FHIR layer: removing Bulk Data exports after their retention.

An export's NDJSON files hold a municipality's measurements; they are kept
``EXPORT_RETENTION_HOURS`` after the export finished (a failed or unfinished job: after it was
started), long enough to fetch them, then removed. The job row stays with ``removed_at`` set, so
its status URL answers 410 Gone, not 404. Removal runs from ``manage.py purge_exports`` (on a
schedule) and, for one job, when its client polls it after the retention (``remove_if_expired``).
One audit record per run that removed anything (``export.purge``), naming the jobs and their
municipalities; a dry run records its count too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from sharing.audit.actions import record_event
from sharing.core.actor import Actor

from .models import ExportFile, ExportJob

EVENT_PURGE = "export.purge"


@dataclass(frozen=True)
class Purged:
    jobs: int
    files: int
    dry_run: bool


def retention() -> dt.timedelta:
    return dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS)


def _expired(now: dt.datetime) -> Q:
    return Q(removed_at__isnull=True) & Q(finished__lt=now - retention())


def _live() -> QuerySet[ExportJob]:
    return ExportJob.objects.annotate(finished=Coalesce(F("completed_at"), F("created_at")))


def purge_exports(*, by: Actor, apply: bool, now: dt.datetime | None = None) -> Purged:
    """Remove (with `apply`; else only count) every export past its retention; audited."""
    now = now or timezone.now()
    with transaction.atomic():
        jobs = list(_live().filter(_expired(now)).select_for_update(of=("self",)).order_by("created_at"))
        files = ExportFile.objects.filter(job__in=jobs)
        count = files.count()
        if apply and jobs:
            files.delete()
            ExportJob.objects.filter(pk__in=[j.pk for j in jobs]).update(removed_at=now)
        if jobs or not apply:
            record_event(
                event=EVENT_PURGE,
                outcome="success",
                by=by,
                data={
                    "dry_run": not apply,
                    "jobs": [str(j.pk) for j in jobs][:1000],
                    "job_count": len(jobs),
                    "files": count,
                    "retention_hours": settings.EXPORT_RETENTION_HOURS,
                },
                municipalities=sorted({j.municipality for j in jobs}),
            )
    return Purged(len(jobs), count, not apply)


def remove_if_expired(*, job: ExportJob, by: Actor, now: dt.datetime | None = None) -> bool:
    """Remove one job past its retention when its client comes for it (audited); whether it is removed."""
    now = now or timezone.now()
    if job.removed_at is not None:
        return True
    if (job.completed_at or job.created_at) >= now - retention():
        return False
    with transaction.atomic():
        found = _live().filter(_expired(now), pk=job.pk).select_for_update(of=("self",)).first()
        if found is None:
            return False
        files = ExportFile.objects.filter(job=found)
        count = files.count()
        files.delete()
        ExportJob.objects.filter(pk=found.pk).update(removed_at=now)
        record_event(
            event=EVENT_PURGE,
            outcome="success",
            by=by,
            data={
                "dry_run": False,
                "jobs": [str(found.pk)],
                "job_count": 1,
                "files": count,
                "retention_hours": settings.EXPORT_RETENTION_HOURS,
            },
            municipalities=[found.municipality],
        )
    job.removed_at = now
    return True
