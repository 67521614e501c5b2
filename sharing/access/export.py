"""Return of data (GDPR art. 28(3)(g)): a municipality's own system exports its measurements.

Through the one door (``door.audited_read``): the decision (is this client the municipality's own
system?), the gather (every measurement the municipality holds, or those changed since a time),
the audit record (committed), then the rows. A whole-municipality read has no patient: the record
names the municipality and the count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from sharing.agreements.models import Organisation, SenderAuthorisation
from sharing.core.actor import Actor
from sharing.measurements.models import Measurement

from .decision import Decision
from .door import audited_read

EVENT_EXPORT = "api.export"


@dataclass(frozen=True)
class Exported:
    resources: list[dict[str, Any]]
    patients: list[str]


def may_export(*, by: Actor, municipality: str, on: dt.date) -> bool:
    """The municipality's own system: its token names the municipality (orgnr_parent) and it is an
    authorised sender for it. The hub, sending for many, does not get their data back."""
    if not by.client_id or by.orgnr_parent != municipality:
        return False
    if not Organisation.objects.municipalities().filter(orgnr=municipality).exists():
        return False
    senders = SenderAuthorisation.objects.in_force(on=on).filter(client_id=by.client_id)
    return senders.filter(municipality__orgnr=municipality).exists()


def export_observations(*, by: Actor, municipality: str, since: dt.datetime | None, job: str) -> Exported | None:
    """The municipality's measurements as stored (raw resources with our id and version), or None when
    the client may not export them. Logged (``api.export``) before anything is returned."""
    now = timezone.now()

    def decide() -> Decision:
        return Decision(granted=may_export(by=by, municipality=municipality, on=timezone.localdate(now)))

    def gather(_decision: Decision) -> Exported:
        rows = Measurement.objects.filter(source_orgnr=municipality)
        if since is not None:
            rows = rows.annotate(changed=Coalesce(F("updated_at"), F("received_at"))).filter(changed__gte=since)
        found = list(rows.select_related("raw").order_by("received_at", "id"))
        return Exported([_resource(m) for m in found], sorted({m.patient_value for m in found}))

    access = audited_read(
        by=by,
        event=EVENT_EXPORT,
        decide=decide,
        gather=gather,
        # The patients named, so each one's access report shows that their data was returned.
        describe=lambda e: {"count": len(e.resources), "patients": e.patients},
        context={"municipality": municipality, "since": since.isoformat() if since else None, "job": job},
        about=[municipality],
        at=now,
    )
    return access.result


def _resource(m: Measurement) -> dict[str, Any]:
    raw = dict(m.raw.resource) if hasattr(m, "raw") else {"resourceType": "Observation"}
    found = raw.get("meta")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    changed = m.updated_at or m.received_at
    return {
        **raw,
        "id": str(m.id),
        "meta": {**meta, "versionId": str(m.version), "lastUpdated": changed.isoformat()},
    }
