"""Patient lookups: decide, gather what the decision allows, log it, and only then hand it out."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import DatabaseError
from django.utils import timezone

from sharing.audit.actions import record_event
from sharing.identifiers import NationalId
from sharing.measurements.models import Measurement

from .actor import Actor
from .decision import Basis, Decision, decide

logger = logging.getLogger(__name__)


class AuditUnavailable(Exception):
    """The audit record could not be written, so no patient data may be shown."""


@dataclass(frozen=True)
class Lookup:
    patient: NationalId
    decision: Decision
    measurements: list[Measurement] = field(default_factory=list)

    @property
    def patient_display(self) -> str:
        return self.measurements[0].patient_display if self.measurements else ""


def look_up_patient(
    *, by: Actor, patient: NationalId, basis: Basis, reason: str, at: dt.datetime | None = None
) -> Lookup:
    """The clinician's lookup. The audit record is committed before the result is returned.

    Granted or denied, the lookup is logged; if logging fails, nothing is returned
    (AuditUnavailable), so patient data never leaves without its record.
    """
    at = at or timezone.now()
    decision = decide(actor=by, patient_value=patient.value, basis=basis, reason=reason, at=at)
    measurements: list[Measurement] = []
    if decision.granted:
        measurements = list(
            Measurement.objects.visible()
            .for_patient(patient.value)
            .filter(decision.filter_q())
            .order_by("kind", "-effective")
        )
    _log_lookup(by=by, patient=patient, basis=basis, reason=reason, decision=decision, measurements=measurements)
    return Lookup(patient=patient, decision=decision, measurements=measurements)


def _log_lookup(
    *,
    by: Actor,
    patient: NationalId,
    basis: Basis,
    reason: str,
    decision: Decision,
    measurements: list[Measurement],
) -> None:
    data: dict[str, object]
    if decision.granted:
        times = [m.effective for m in measurements]
        data = {
            "agreements": decision.agreement_ids,
            "municipalities": decision.municipalities,
            "kinds": sorted({m.kind for m in measurements}),
            "period": [min(times).isoformat(), max(times).isoformat()] if times else [],
            "count": len(measurements),
        }
    else:
        data = {"denial": str(decision.denial)}
    try:
        record_event(
            event="patient.lookup",
            outcome="granted" if decision.granted else "denied",
            by=by,
            patient_system=patient.system,
            patient_value=patient.value,
            data=data,
            basis=str(basis),
            reason=reason,
        )
    except DatabaseError as exc:
        logger.exception("Audit write failed; withholding patient data")
        raise AuditUnavailable from exc
