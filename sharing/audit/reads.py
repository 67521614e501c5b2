"""The auditors' reads of the log, each itself logged before its result is returned.

The log shows who looked at which patient, so reading it is a read of personal data: each read
here fetches, writes its own record (event `audit.*`), and only then hands the result over. If
that record cannot be written, nothing is returned (AuditUnavailable), as for clinicians.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError
from django.utils import timezone

from sharing.access.actions import AuditUnavailable
from sharing.core.actor import Actor
from sharing.identifiers import InvalidIdentifier, parse_national_id
from sharing.measurements.models import PatientSource

from . import events
from .actions import record_event
from .models import AuditEvent
from .review import ReviewItem, review_queue
from .scope import AuditScope
from .search import AuditFilter, ResultPage, result_page, search

logger = logging.getLogger(__name__)


def _log(
    *, event: str, by: Actor, scope: AuditScope, data: Mapping[str, Any], patient_system: str = "", patient: str = ""
) -> None:
    """The auditor's own record: about the auditor's municipalities (or, service-wide, derived)."""
    try:
        record_event(
            event=event,
            outcome="success",
            by=by,
            patient_system=patient_system,
            patient_value=patient,
            data=data,
            municipalities=None if scope.municipalities is None else sorted(scope.municipalities),
        )
    except DatabaseError as exc:
        logger.exception("Audit write failed; withholding the access log")
        raise AuditUnavailable from exc


def _system_of(patient: str) -> str:
    """The identifier system of a national identity number (FNR, D-number, FHN), if it is one."""
    try:
        return parse_national_id(patient).system if patient else ""
    except InvalidIdentifier:
        return ""


def search_log(*, by: Actor, scope: AuditScope, criteria: AuditFilter, page: int = 1) -> ResultPage:
    """One page of the auditor's search, logged as audit.search with the filters and the count shown."""
    result = result_page(search(scope, criteria), page)
    data = {"filters": criteria.as_data(), "page": result.number, "count": len(result.rows)}
    system = _system_of(criteria.patient)
    _log(event=events.AUDIT_SEARCH, by=by, scope=scope, data=data, patient_system=system, patient=criteria.patient)
    return result


def review_items(*, by: Actor, scope: AuditScope) -> list[ReviewItem]:
    """The review queue, logged as audit.review_queue with the items and the patients it shows."""
    items = review_queue(scope)
    patients = sorted({patient for item in items for patient in item.patients})
    _log(event=events.AUDIT_REVIEW_QUEUE, by=by, scope=scope, data={"count": len(items), "patients": patients})
    return items


@dataclass(frozen=True)
class PatientAccessReport:
    patient: str
    patient_name: str
    records: list[AuditEvent]
    made_at: dt.datetime


def patient_access_report(*, by: Actor, scope: AuditScope, patient: str, fmt: str) -> PatientAccessReport:
    """Every read of one patient's measurements inside the scope (innsyn i logg), newest first.

    Logged as audit.patient_report with the format (html or csv) and the number of rows.
    """
    records = list(
        AuditEvent.objects.about_municipalities(scope.municipalities)
        .for_patient(patient)
        .filter(events.patient_access_q())
        .newest_first()
    )
    names = list(
        PatientSource.objects.filter(patient_value=patient).exclude(display="").values_list("display", flat=True)
    )
    system = _system_of(patient)
    _log(
        event=events.AUDIT_PATIENT_REPORT,
        by=by,
        scope=scope,
        data={"format": fmt, "count": len(records)},
        patient_system=system,
        patient=patient,
    )
    return PatientAccessReport(patient, names[0] if names else "", records, timezone.localtime())
