"""The auditors' reads of the log, each itself logged before its result is returned.

The log shows who looked at which patient, so reading it is a read of personal data: each read
here goes through the one door (`door.audited_read`): it fetches, writes its own record (event
`audit.*`), commits, and only then hands the result over. If that record cannot be written,
nothing is returned (AuditUnavailable), as for clinicians. The auditor's scope (which
municipalities' events they read) is the decision; a record about a patient also concerns every
municipality holding data on the patient, so those municipalities' auditors see it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from django.conf import settings
from django.utils import timezone

from sharing.agreements.models import Agreement
from sharing.audit import events
from sharing.audit.models import AuditEvent
from sharing.audit.review import (
    AgreementUnits,
    Colleagues,
    QueueFilter,
    ReviewItem,
    filtered,
    find_items,
    review_queue,
)
from sharing.audit.scope import AuditScope
from sharing.audit.search import AuditFilter, ResultPage, result_page, search
from sharing.core.actor import Actor
from sharing.identifiers import InvalidIdentifier, NationalId, parse_national_id
from sharing.measurements.models import IdentityLink, PatientSource

from .decision import Decision
from .door import audited_read, holders_of
from .models import KnownPerson, Membership

T = TypeVar("T")


def read_log(
    *,
    event: str,
    by: Actor,
    scope: AuditScope,
    gather: Callable[[], T],
    describe: Callable[[T], Mapping[str, Any]],
    patient: str = "",
) -> T:
    """One auditor's read of the log through the door (the pages' and the FHIR AuditEvent API's):
    granted by the scope the caller has checked, logged as `event`, committed, then returned."""
    about = set(scope.municipalities or ()) | set(holders_of(patient))
    access = audited_read(
        by=by,
        event=event,
        patient=_national_id(patient),
        patient_text=patient,
        decide=lambda: Decision(True),
        gather=lambda _decision: gather(),
        describe=describe,
        about=about,
        success="success",
    )
    return cast(T, access.result)  # granted by the scope: never withheld


def agreement_units() -> AgreementUnits:
    """The agreements that name units, with their consumer: what the review rules need to know."""
    units: dict[int, set[str]] = defaultdict(set)
    consumers: dict[int, str] = {}
    rows = Agreement.objects.filter(units__isnull=False).values_list("pk", "consumer__orgnr", "units__orgnr")
    for pk, consumer, unit in rows:
        consumers[pk] = consumer
        units[pk].add(unit)
    return {pk: (consumers[pk], frozenset(covered)) for pk, covered in units.items()}


def colleagues_of(scope: AuditScope) -> Colleagues:
    """The national IDs of each staff organisation's members (the colleague rule): memberships not
    ended before the review window opened, whatever their unit. A member registered by national ID
    is matched by it; one registered by HPR number only, by the national ID HelseID gave for that
    HPR number at the person's last login (KnownPerson). Per organisation, two subqueries whose
    union is its members' national IDs; a member by HPR number who never logged in has none here."""
    since = timezone.localdate() - dt.timedelta(days=settings.AUDIT_REVIEW_LOOKBACK_DAYS)
    found = {}
    for orgnr in sorted(scope.staff_of):
        members = (
            Membership.objects.filter(organisation__orgnr=orgnr)
            .exclude(ended_at__date__lt=since)
            .exclude(valid_to__lt=since)
        )
        by_hpr = KnownPerson.objects.filter(hpr_number__in=members.exclude(hpr_number="").values("hpr_number"))
        found[orgnr] = (members.exclude(pid="").values("pid"), by_hpr.values("pid"))
    return found


def find_review_items(scope: AuditScope, keys: list[str]) -> list[ReviewItem] | None:
    """The review-queue items with these keys in the scope's queue; None if any is not there
    (the reviewer's 404, whether it exists elsewhere or not)."""
    return find_items(scope, keys, units=agreement_units(), colleagues=colleagues_of(scope))


def find_review_item(scope: AuditScope, key: str) -> ReviewItem | None:
    """The review-queue item with this key in the scope's queue (the reviewer's 404 otherwise)."""
    found = find_review_items(scope, [key])
    return found[0] if found else None


def _national_id(patient: str) -> NationalId | None:
    """The national identity number (FNR, D-number, FHN) an auditor asked about, if it is one."""
    try:
        return parse_national_id(patient) if patient else None
    except InvalidIdentifier:
        return None


def search_log(*, by: Actor, scope: AuditScope, criteria: AuditFilter, page: int = 1) -> ResultPage:
    """One page of the auditor's search with the names of its patients that the auditor's own
    municipalities hold, logged as audit.search with the filters and the count shown."""

    def gather() -> ResultPage:
        result = result_page(search(scope, criteria), page)
        return replace(result, names=_names_of(scope, {row.patient_value for row in result.rows if row.patient_value}))

    return read_log(
        event=events.AUDIT_SEARCH,
        by=by,
        scope=scope,
        patient=criteria.patient,
        gather=gather,
        describe=lambda result: {"filters": criteria.as_data(), "page": result.number, "count": len(result.rows)},
    )


def _names_of(scope: AuditScope, patients: set[str]) -> dict[str, str]:
    """The names the scope's municipalities hold for these patients (none from elsewhere)."""
    sources = PatientSource.objects.filter(patient_value__in=sorted(patients)).exclude(display="")
    if scope.municipalities is not None:
        sources = sources.filter(source_orgnr__in=sorted(scope.municipalities))
    names: dict[str, str] = {}
    for patient, name in sources.order_by("source_orgnr").values_list("patient_value", "display"):
        names.setdefault(patient, name)
    return names


def review_items(*, by: Actor, scope: AuditScope, criteria: QueueFilter | None = None) -> list[ReviewItem]:
    """The review queue (the items matching `criteria`), logged as audit.review_queue with the
    filters, the items and the patients it shows."""
    criteria = criteria or QueueFilter()

    def gather() -> list[ReviewItem]:
        return filtered(review_queue(scope, units=agreement_units(), colleagues=colleagues_of(scope)), criteria)

    def describe(items: list[ReviewItem]) -> dict[str, Any]:
        return {
            "filters": criteria.as_data(),
            "count": len(items),
            "patients": sorted({patient for item in items for patient in item.patients}),
        }

    return read_log(event=events.AUDIT_REVIEW_QUEUE, by=by, scope=scope, gather=gather, describe=describe)


@dataclass(frozen=True)
class PatientAccessReport:
    patient: str
    patient_name: str
    records: list[AuditEvent]
    made_at: dt.datetime


def patient_access_report(*, by: Actor, scope: AuditScope, patient: str, fmt: str) -> PatientAccessReport:
    """Every read of one patient's measurements inside the scope (innsyn i logg), newest first,
    under any of the patient's linked numbers (a D-number or FHN replaced by a fødselsnummer).

    Logged as audit.patient_report with the format (html or csv) and the number of rows. The
    patient's name comes only from a municipality in the auditor's scope: for a patient their
    municipality holds no data on, the answer is the same as for a patient nobody knows.
    """

    def gather() -> PatientAccessReport:
        # The person, not one number: reads made under a D-number or FHN later linked to the
        # fødselsnummer asked about (or the reverse) belong in the same report.
        person = IdentityLink.objects.person(patient)
        records = list(
            AuditEvent.objects.in_scope(scope).filter(person).filter(events.patient_access_q()).newest_first()
        )
        return PatientAccessReport(patient, _name_within(scope, patient), records, timezone.localtime())

    return read_log(
        event=events.AUDIT_PATIENT_REPORT,
        by=by,
        scope=scope,
        patient=patient,
        gather=gather,
        describe=lambda report: {"format": fmt, "count": len(report.records)},
    )


def _name_within(scope: AuditScope, patient: str) -> str:
    sources = PatientSource.objects.filter(IdentityLink.objects.person(patient)).exclude(display="")
    if scope.municipalities is not None:
        sources = sources.filter(source_orgnr__in=sorted(scope.municipalities))
    return sources.order_by("source_orgnr").values_list("display", flat=True).first() or ""
