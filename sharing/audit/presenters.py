"""Display text for log records: the auditor's view and the patient's view of the same row.

The row keeps codes (event, outcome, basis, denial, kinds); what people read comes from here,
so a wording can change without touching the log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from sharing.core.actor import ROLE_LABELS, Role
from sharing.core.basis import BASIS_SHORT_LABELS, Basis
from sharing.core.kinds import KIND_LABELS, Kind

from . import events
from .models import AuditEvent

OUTCOME_LABELS = {
    "granted": gettext_lazy("Access granted"),
    "denied": gettext_lazy("Access denied"),
    "success": gettext_lazy("Done"),
    "failure": gettext_lazy("Failed"),
}
# For auditors: each denial by its real cause (the clinician saw some of these as one message).
DENIAL_LABELS = {
    "not-clinician": gettext_lazy("Not a clinician"),
    "no-hpr": gettext_lazy("No HPR number"),
    "security-level": gettext_lazy("Security level below 4"),
    "no-organisation": gettext_lazy("No organisation"),
    "reason-required": gettext_lazy("Reason missing"),
    "unit-not-covered": gettext_lazy("Unit not covered by the agreement"),
    "basis-not-allowed": gettext_lazy("Access basis not allowed by the agreement"),
    "no-agreement": gettext_lazy("No agreement, or no data on the patient"),
    "reserved": gettext_lazy("The patient has reserved against sharing"),
}
# For the patient: the footing someone stated when asking to see their measurements. Stated,
# not established: a refused attempt states one too.
PATIENT_BASIS_LABELS = {
    Basis.CARE: gettext_lazy("Said you were receiving care there"),
    Basis.CONSENT: gettext_lazy("Said you had given your consent"),
    Basis.EMERGENCY: gettext_lazy("Said it was an emergency"),
}


def kind_label(kind: str) -> str:
    try:
        return KIND_LABELS[Kind(kind)]
    except ValueError:
        return kind


def role_label(roles: str) -> str:
    labels = []
    for code in roles.split(","):
        try:
            labels.append(str(ROLE_LABELS[Role(code)]))
        except (ValueError, KeyError):
            if code:
                labels.append(code)
    return ", ".join(labels)


def basis_label(basis: str) -> str:
    try:
        return str(BASIS_SHORT_LABELS[Basis(basis)])
    except ValueError:
        return basis


def _date(value: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return str(formats.date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT"))


def period_text(period: Any) -> str:
    if isinstance(period, list) and len(period) == 2:
        return f"{_date(str(period[0]))}–{_date(str(period[1]))}"
    return ""


def made_available(data: dict[str, Any]) -> str:
    """What a read made available, from its record: kinds, period and count."""
    if "denial" in data:
        return _("Nothing shown")
    parts = []
    kinds = data.get("kinds")
    if isinstance(kinds, list) and kinds:
        parts.append(", ".join(kind_label(str(k)) for k in kinds))
    if period := period_text(data.get("period")):
        parts.append(period)
    count = data.get("count")
    if isinstance(count, int):
        parts.append(ngettext("%(count)d measurement", "%(count)d measurements", count) % {"count": count})
    return " · ".join(parts)


def organisation_text(parent_name: str, parent: str, child_name: str, child: str) -> str:
    top = parent_name or parent
    unit = child_name or child
    return f"{top} / {unit}" if unit and unit != top else top


@dataclass(frozen=True)
class EventView:
    """One record as the auditor sees it."""

    id: int
    occurred_at: dt.datetime
    event: str
    event_label: str
    outcome: str
    outcome_label: str
    who: str
    actor_sub: str
    actor_hpr: str
    actor_pid: str
    role: str
    organisation: str
    patient: str
    basis: str
    basis_label: str
    reason: str
    detail: str
    municipalities: str
    client_id: str
    request_id: str
    patient_name: str = ""  # only where the auditor's municipality holds data on the patient
    launch: str = ""  # started from a hospital record: which system, which encounter
    repeat: int = 1  # consecutive views of one patient by one person, shown as one line

    @property
    def denied(self) -> bool:
        return self.outcome == "denied"

    @property
    def emergency(self) -> bool:
        return self.basis == Basis.EMERGENCY


def detail(record: AuditEvent, organisations: Mapping[str, str] | None = None) -> str:
    data = record.data if isinstance(record.data, dict) else {}
    if record.outcome == "denied" and "denial" in data:
        return str(DENIAL_LABELS.get(str(data["denial"]), data["denial"]))
    if events.is_patient_access(record.event):
        return made_available(data)
    if record.event == events.AUDIT_REVIEW:
        return str(data.get("item", ""))
    if record.event.startswith(("agreement.", "role.", "reservation.")):
        return changed_object(record.event, data, organisations)
    if record.event == events.AUDIT_PURGE:
        return ngettext("%(count)d record removed", "%(count)d records removed", int(data.get("count", 0))) % {
            "count": int(data.get("count", 0))
        }
    return ""


def launch_text(record: AuditEvent) -> str:
    """A read started from a hospital record (EHR launch): the system and the encounter; a
    refused launch: why."""
    data = record.data if isinstance(record.data, dict) else {}
    launch = data.get("launch")
    if not isinstance(launch, dict):
        return ""
    return _("Started from %(system)s, encounter %(encounter)s") % {
        "system": launch.get("system") or launch.get("iss") or "?",
        "encounter": launch.get("encounter") or _("not given"),
    }


def _day(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).strftime("%d.%m.%Y")
    except ValueError:
        return value


def _masked(pid: object) -> str:
    text = str(pid or "")
    return f"{text[:6]} *****" if len(text) == 11 else text


def changed_object(event: str, data: dict[str, Any], organisations: Mapping[str, str] | None = None) -> str:
    """What a change event changed: which agreement (its parties by name), whose role, which reservation.

    An agreement's parties are named as the record has them (written since names were logged),
    else by `organisations` (organisation number to name, from the register), else by number.
    """
    if event.startswith("agreement."):
        known = organisations or {}

        def party(role: str) -> str:
            orgnr = str(data.get(role, "") or "")
            return str(data.get(f"{role}_name") or known.get(orgnr) or orgnr or "?")

        return _("Agreement %(number)s (version %(version)s): %(controller)s → %(consumer)s") % {
            "number": data.get("agreement", "?"),
            "version": data.get("version", "?"),
            "controller": party("controller"),
            "consumer": party("consumer"),
        }
    if event.startswith("role."):
        grant = data.get("after") or data.get("before") or {}
        return _("%(role)s for %(name)s (%(pid)s)") % {
            "role": role_label(str(grant.get("role", ""))),
            "name": grant.get("name") or _("not logged in yet"),
            "pid": _masked(grant.get("pid")),
        }
    if event.startswith("reservation."):
        after = data.get("after") or {}
        return _("Reservation %(number)s in %(municipality)s, objected on %(day)s") % {
            "number": data.get("reservation", "?"),
            "municipality": after.get("municipality", "?"),
            "day": _day(str(after.get("objected_on", ""))),
        }
    return ""


def group_views(rows: list[EventView]) -> list[EventView]:
    """Consecutive page views of one patient by one person as one line with a count (each tab or
    period click is its own record; the auditor wants the visit)."""
    grouped: list[EventView] = []
    for row in rows:
        last = grouped[-1] if grouped else None
        same = last is not None and (row.event, row.actor_sub, row.patient, row.outcome) == (
            last.event,
            last.actor_sub,
            last.patient,
            last.outcome,
        )
        if same and last is not None and row.event == events.PATIENT_VIEW:
            grouped[-1] = replace(last, repeat=last.repeat + 1)
        else:
            grouped.append(row)
    return grouped


def agreement_parties(records: Iterable[AuditEvent]) -> set[str]:
    """The organisation numbers of agreement change records that do not carry the parties' names."""
    found: set[str] = set()
    for record in records:
        data = record.data if isinstance(record.data, dict) else {}
        if record.event.startswith("agreement."):
            found |= {
                str(data[role])
                for role in ("controller", "consumer")
                if data.get(role) and not data.get(f"{role}_name")
            }
    return found


def present(record: AuditEvent, patient_name: str = "", organisations: Mapping[str, str] | None = None) -> EventView:
    return EventView(
        id=record.pk,
        occurred_at=timezone.localtime(record.occurred_at),
        event=record.event,
        event_label=events.label(record.event),
        outcome=record.outcome,
        outcome_label=str(OUTCOME_LABELS.get(record.outcome, record.outcome)),
        who=record.actor_name or record.client_id,
        actor_sub=record.actor_sub,
        actor_hpr=record.actor_hpr,
        actor_pid=record.actor_pid,
        role=role_label(record.actor_role),
        organisation=organisation_text(
            record.org_parent_name, record.org_parent, record.org_child_name, record.org_child
        ),
        patient=record.patient_value,
        basis=record.basis,
        basis_label=basis_label(record.basis),
        reason=record.reason,
        detail=detail(record, organisations),
        municipalities=record.municipalities,
        client_id=record.client_id,
        request_id=record.request_id,
        patient_name=patient_name,
        launch=launch_text(record),
    )


# --- The patient's view ----------------------------------------------------------------------


@dataclass(frozen=True)
class PatientReportRow:
    """One read of the patient's measurements, worded for the patient."""

    occurred_at: dt.datetime
    who: str
    role: str
    organisation: str
    what: str
    basis: str
    reason: str
    result: str
    granted: bool


def _patient_role(record: AuditEvent) -> str:
    if record.actor_hpr:
        return _("Health personnel")
    if Role.SYSTEM_CLIENT in record.actor_role.split(","):
        return _("Record system")
    return role_label(record.actor_role)


def _patient_what(record: AuditEvent) -> str:
    if record.outcome != "granted":
        return _("Nothing was shown")
    data = record.data if isinstance(record.data, dict) else {}
    kinds = ", ".join(kind_label(str(k)) for k in data.get("kinds", []) if k)
    period = period_text(data.get("period"))
    if record.event == events.PATIENT_EXPORT:
        text = _("Copied your measurements to a file")
    elif record.event == events.PATIENT_LOOKUP:
        text = _("Searched for you and saw which measurements there are")
    else:
        text = _("Saw your measurements")
    details = " ".join(part for part in (kinds, f"({period})" if period else "") if part)
    return f"{text}: {details}" if details else text


def present_for_patient(record: AuditEvent) -> PatientReportRow:
    granted = record.outcome == "granted"
    try:
        basis = str(PATIENT_BASIS_LABELS[Basis(record.basis)])
    except ValueError:
        basis = record.basis
    return PatientReportRow(
        occurred_at=timezone.localtime(record.occurred_at),
        who=record.actor_name or record.org_parent_name or record.client_id,
        role=_patient_role(record),
        organisation=organisation_text(
            record.org_parent_name, record.org_parent, record.org_child_name, record.org_child
        ),
        what=_patient_what(record),
        basis=basis,
        reason=record.reason,
        result=_("Was given access") if granted else _("Was refused access"),
        granted=granted,
    )
