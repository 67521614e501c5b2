"""Translate incoming FHIR Observations into domain calls: check the sender, normalise, store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from sharing.agreements.models import Organisation
from sharing.measurements.actions import Recorded, record_measurements
from sharing.measurements.normalise import Issue, Normalised, RejectedObservation, normalise

from .auth import ApiClient


class SenderNotAllowed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Accepted:
    recorded: Recorded
    normalised: Normalised


def source_municipality(client: ApiClient) -> str:
    """A system client writes only for the municipality named in its token."""
    if not client.orgnr_parent:
        raise SenderNotAllowed("The access token names no organisation (orgnr_parent).")
    if not Organisation.objects.filter(orgnr=client.orgnr_parent, kind=Organisation.Kind.MUNICIPALITY).exists():
        raise SenderNotAllowed(
            f"Organisation {client.orgnr_parent} is not a municipality registered as data controller here."
        )
    return client.orgnr_parent


def check_performer(item: Normalised, source_orgnr: str) -> None:
    if item.performer_orgnrs and source_orgnr not in item.performer_orgnrs:
        raise RejectedObservation(
            [
                Issue(
                    severity="error",
                    code="forbidden",
                    expression="Observation.performer",
                    diagnostics=(
                        f"performer[organization] names {', '.join(item.performer_orgnrs)}, "
                        f"but the access token is for {source_orgnr}."
                    ),
                )
            ]
        )


def normalise_for(resource: Any, source_orgnr: str, *, now: dt.datetime | None = None) -> Normalised:
    item = normalise(
        resource,
        now=now or timezone.now(),
        clock_skew=dt.timedelta(seconds=settings.INGEST_CLOCK_SKEW_SECONDS),
    )
    check_performer(item, source_orgnr)
    return item


def create_observation(*, resource: Any, client: ApiClient) -> Accepted:
    """Raises SenderNotAllowed or RejectedObservation; stores nothing unless it returns."""
    source = source_municipality(client)
    item = normalise_for(resource, source)
    [recorded] = record_measurements(items=[(item, resource)], source_orgnr=source)
    return Accepted(recorded, item)
