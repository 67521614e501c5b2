"""Storing measurements: once, whatever is re-sent, in bulk."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from .models import Measurement, PatientSource, RawResource
from .normalise import Normalised


@dataclass(frozen=True)
class Recorded:
    measurement_id: uuid.UUID
    created: bool


def dedup_key(item: Normalised) -> str:
    """The sender's identifier, failing that the resource id, failing that a content hash."""
    if item.source_identifier:
        return f"identifier:{item.source_identifier}"[:300]
    if item.resource_id:
        return f"id:{item.resource_id}"[:300]
    return f"hash:{item.content_hash}"


def _row(item: Normalised, *, source_orgnr: str) -> Measurement:
    return Measurement(
        id=uuid.uuid4(),
        patient_system=item.patient_system,
        patient_value=item.patient_value,
        patient_display=item.patient_display[:200],
        kind=str(item.kind),
        code_system=item.code_system,
        code=item.code,
        code_display=item.code_display[:200],
        effective=item.effective,
        effective_end=item.effective_end,
        status=item.status,
        value=item.value,
        unit=item.unit,
        value_code=item.value_code,
        value_display=item.value_display[:200],
        components=dict(item.components),
        reference_low=item.reference_low,
        reference_high=item.reference_high,
        source_orgnr=source_orgnr,
        dedup_key=dedup_key(item),
        flags=list(item.flags),
    )


def record_measurements(*, items: Sequence[tuple[Normalised, Mapping[str, Any]]], source_orgnr: str) -> list[Recorded]:
    """Store normalised measurements with their raw resources; re-sent ones change nothing.

    Duplicates are settled by the database's unique constraint (insert-or-ignore), not
    by checking first, so parallel senders of the same measurement leave one row.
    """
    rows = [_row(item, source_orgnr=source_orgnr) for item, _raw in items]
    with transaction.atomic():
        Measurement.objects.bulk_create(rows, ignore_conflicts=True)
        stored = dict(
            Measurement.objects.filter(
                source_orgnr=source_orgnr, dedup_key__in={row.dedup_key for row in rows}
            ).values_list("dedup_key", "id")
        )
        results = [Recorded(stored[row.dedup_key], stored[row.dedup_key] == row.id) for row in rows]
        RawResource.objects.bulk_create(
            [
                RawResource(measurement_id=row.id, resource=dict(raw))
                for row, (_item, raw), result in zip(rows, items, results, strict=True)
                if result.created
            ]
        )
        PatientSource.objects.bulk_create(
            [
                PatientSource(
                    patient_value=row.patient_value,
                    patient_system=row.patient_system,
                    source_orgnr=source_orgnr,
                    display=row.patient_display,
                )
                for row in rows
            ],
            ignore_conflicts=True,
        )
    return results
