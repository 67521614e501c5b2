"""Audited writes to organisations and agreements."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from sharing.access.actor import Actor
from sharing.audit.actions import record_event

from .models import Agreement, Organisation


def register_organisation(*, orgnr: str, name: str, kind: str, parent: Organisation | None = None) -> Organisation:
    org, _ = Organisation.objects.update_or_create(orgnr=orgnr, defaults={"name": name, "kind": kind, "parent": parent})
    org.full_clean()
    return org


def create_active_agreement(
    *,
    controller: Organisation,
    consumer: Organisation,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    kinds: list[str] | None = None,
    lookback_days: int | None = None,
    purpose: str = "",
    by: Actor,
) -> Agreement:
    """An agreement in force from `valid_from`, with its audit record in the same transaction."""
    with transaction.atomic():
        agreement = Agreement.objects.create(
            controller=controller,
            consumer=consumer,
            status=Agreement.Status.ACTIVE,
            valid_from=valid_from,
            valid_to=valid_to,
            kinds=kinds or [],
            lookback_days=lookback_days,
            purpose=purpose,
        )
        record_event(
            event="agreement.activate",
            outcome="success",
            by=by,
            data={
                "agreement": agreement.pk,
                "controller": controller.orgnr,
                "consumer": consumer.orgnr,
                "after": {
                    "status": agreement.status,
                    "valid_from": valid_from.isoformat(),
                    "valid_to": valid_to.isoformat() if valid_to else None,
                    "kinds": agreement.kinds,
                    "lookback_days": lookback_days,
                },
            },
        )
    return agreement
