"""Storing measurements: once, whatever is re-sent, in bulk; corrections keep the earlier version.

Identity is the dedup key (the sender's identifier, else its resource id, else a content hash)
within the sending municipality, settled by the database's unique constraint: parallel
senders of the same measurement leave one row. Under one identity:

- a fingerprint (content and status) already on file, current or earlier: nothing changes;
- a new fingerprint, same patient and kind: a new version replaces the row's values, and the
  row as it was (with its raw resource) is kept as a ``MeasurementVersion``. Status
  ``entered-in-error`` or ``cancelled`` thereby hides the measurement from clinicians;
- another patient or kind: refused as a conflict (a correction cannot move a measurement).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

from sharing.audit.actions import record_event
from sharing.core import replica
from sharing.core.actor import Actor

from . import storage
from .incoming import Incoming
from .models import (
    CONTENT_FIELDS,
    CONTEXT_FIELDS,
    Measurement,
    MeasurementVersion,
    PatientSource,
    RawResource,
    content_fingerprint,
)

MAX_KEY = 300  # Measurement.dedup_key
INSERT_BATCH = 1000
# What a new version copies from the incoming row, and what a version change writes.
_COPIED = [
    *CONTENT_FIELDS,
    "patient_display",
    "code_display",
    "flags",
    "fingerprint",
    "client_id",
    "fhir_version",
    *CONTEXT_FIELDS,
]
_UPDATED_FIELDS = [*_COPIED, "version", "updated_at"]
EVENT_CORRECTED = "ingest.corrected"


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"  # a new version replaced the stored one
    UNCHANGED = "unchanged"  # this version (or an earlier one) was already stored
    CONFLICT = "conflict"  # the identity is taken by another patient's or another kind's measurement


@dataclass(frozen=True)
class Recorded:
    measurement_id: uuid.UUID
    outcome: Outcome
    version: int

    @property
    def created(self) -> bool:
        return self.outcome is Outcome.CREATED

    @property
    def stored(self) -> bool:
        return self.outcome is not Outcome.CONFLICT


def dedup_key(item: Incoming) -> str:
    """The sender's identifier, failing that the resource id, failing that a content hash."""
    if item.source_identifier:
        return identifier_key(item.source_identifier)
    if item.resource_id:
        return _bounded("id:", item.resource_id)
    return f"hash:{item.content_hash}"


def identifier_key(identifier: str) -> str:
    """The dedup key of a measurement whose (first) identifier is ``system|value``."""
    return _bounded("identifier:", identifier)


def _bounded(prefix: str, text: str) -> str:
    # A long identifier is hashed rather than cut, so two identifiers never share a key.
    if len(prefix) + len(text) <= MAX_KEY:
        return prefix + text
    return f"{prefix}sha256:{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()}"


def _row(item: Incoming, *, source_orgnr: str, client_id: str) -> Measurement:
    row = Measurement(
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
        ranges=dict(item.ranges),
        interpretation=item.interpretation,
        note=item.note,
        device=item.device,
        client_id=client_id[:200],
        fhir_version=item.fhir_version[:8],
    )
    row.fingerprint = content_fingerprint({name: getattr(row, name) for name in CONTENT_FIELDS})
    return row


def record_measurements(
    *, items: Sequence[tuple[Incoming, Mapping[str, Any]]], source_orgnr: str, by: Actor | None = None
) -> list[Recorded]:
    """Store normalised measurements with their raw resources, one result per item, in order.

    One transaction; the database's unique constraint settles duplicates (insert-or-ignore),
    never a check-then-insert. Conflicting items are not written; the caller decides whether
    that fails the whole request. A version change is audited, per patient, as
    ``ingest.corrected`` by ``by`` (the sending client).
    """
    client_id = by.client_id if by else ""
    rows = [_row(item, source_orgnr=source_orgnr, client_id=client_id) for item, _raw in items]
    raws = [dict(raw) for _item, raw in items]
    with transaction.atomic():
        replica.synchronous_commit()  # with a standby: acknowledged only once it is on the standby too
        # Inserted in key order, so concurrent batches wait on each other's keys in one order.
        inserted = storage.insert(sorted(rows, key=lambda r: r.dedup_key), ignore_conflicts=True) or set()
        stored = {row.dedup_key: row.id for row in rows if row.id in inserted}
        if taken := {row.dedup_key for row in rows} - stored.keys():
            stored.update(
                Measurement.objects.filter(source_orgnr=source_orgnr, dedup_key__in=taken).values_list(
                    "dedup_key", "id"
                )
            )
        batch = _Batch(rows, raws, stored)
        results = batch.settle()
        batch.write()
        _audit_corrections(list(batch.changed.values()), by=by)
    return results


class _Batch:
    """One call's rows against what is stored; applies versions in the order the items came."""

    def __init__(self, rows: list[Measurement], raws: list[dict[str, Any]], stored: dict[str, uuid.UUID]) -> None:
        self.rows, self.raws, self.stored = rows, raws, stored
        self.now = timezone.now()
        self.current: dict[str, Measurement] = {}  # key -> the row as it now stands
        self.raw_of: dict[uuid.UUID, dict[str, Any]] = {}  # measurement id -> its current raw resource
        self.known: dict[uuid.UUID, set[str]] = {}  # measurement id -> every fingerprint on file
        self.inserted: set[uuid.UUID] = set()
        self.changed: dict[uuid.UUID, Measurement] = {}
        self.versions: list[MeasurementVersion] = []

    def settle(self) -> list[Recorded]:
        self._load_existing()
        return [self._settle(row, raw) for row, raw in zip(self.rows, self.raws, strict=True)]

    def _load_existing(self) -> None:
        """Lock the rows that were there before this call, and read what they need to be compared."""
        ours = {row.id for row in self.rows}
        existing = sorted(pk for pk in self.stored.values() if pk not in ours)
        if not existing:
            return
        for row in Measurement.objects.filter(id__in=existing).order_by("id").select_for_update():
            # Rows written without one (bulk loaders, before versions existed) get it computed here.
            row.fingerprint = row.fingerprint or content_fingerprint({n: getattr(row, n) for n in CONTENT_FIELDS})
            self.current[row.dedup_key] = row
            self.known[row.id] = {row.fingerprint}
        for pk, print_ in MeasurementVersion.objects.filter(measurement_id__in=existing).values_list(
            "measurement_id", "fingerprint"
        ):
            self.known[pk].add(print_)
        needed = [
            self.current[row.dedup_key].id
            for row in self.rows
            if row.dedup_key in self.current and row.fingerprint not in self.known[self.current[row.dedup_key].id]
        ]
        if needed:
            self.raw_of.update(
                RawResource.objects.filter(measurement_id__in=needed).values_list("measurement_id", "resource")
            )

    def _settle(self, row: Measurement, raw: dict[str, Any]) -> Recorded:
        key = row.dedup_key
        if self.stored.get(key) == row.id and row.id not in self.inserted:
            self.inserted.add(row.id)
            self.current[key] = row
            self.raw_of[row.id] = raw
            self.known[row.id] = {row.fingerprint}
            return Recorded(row.id, Outcome.CREATED, 1)
        now = self.current[key]
        if row.fingerprint in self.known[now.id]:
            return Recorded(now.id, Outcome.UNCHANGED, now.version)
        if (row.patient_system, row.patient_value, row.kind) != (now.patient_system, now.patient_value, now.kind):
            return Recorded(now.id, Outcome.CONFLICT, now.version)
        self.versions.append(
            MeasurementVersion(
                measurement_id=now.id,
                version=now.version,
                fingerprint=now.fingerprint,
                status=now.status,
                content=now.content(),
                resource=self.raw_of.get(now.id, {}),
                client_id=now.client_id,
                received_at=now.updated_at or now.received_at or self.now,
                superseded_at=self.now,
            )
        )
        for name in _COPIED:
            setattr(now, name, getattr(row, name))
        now.version += 1
        now.updated_at = self.now
        self.known[now.id].add(row.fingerprint)
        self.raw_of[now.id] = raw
        self.changed[now.id] = now
        return Recorded(now.id, Outcome.UPDATED, now.version)

    def write(self) -> None:
        storage.insert([RawResource(measurement_id=pk, resource=self.raw_of[pk]) for pk in self.inserted])
        storage.insert(
            [
                PatientSource(
                    patient_value=row.patient_value,
                    patient_system=row.patient_system,
                    source_orgnr=row.source_orgnr,
                    display=row.patient_display,
                )
                for row in {(r.patient_value, r.source_orgnr): r for r in self.rows if r.id in self.inserted}.values()
            ],
            ignore_conflicts=True,
        )
        if not self.changed:
            return
        MeasurementVersion.objects.bulk_create(self.versions, batch_size=INSERT_BATCH)
        # Includes rows inserted by this very call and corrected later in it: the insert wrote
        # their first version, the update brings them to the last.
        Measurement.objects.bulk_update(list(self.changed.values()), _UPDATED_FIELDS, batch_size=INSERT_BATCH)
        RawResource.objects.bulk_create(
            [
                RawResource(measurement_id=pk, resource=self.raw_of[pk])
                for pk in self.changed
                if pk not in self.inserted
            ],
            update_conflicts=True,
            unique_fields=["measurement"],
            update_fields=["resource"],
            batch_size=INSERT_BATCH,
        )


def _audit_corrections(rows: list[Measurement], *, by: Actor | None) -> None:
    """One audit record per patient whose stored measurements a sender replaced or withdrew."""
    by_patient: dict[tuple[str, str], list[Measurement]] = {}
    for row in rows:
        by_patient.setdefault((row.patient_system, row.patient_value), []).append(row)
    for (system, value), changed in by_patient.items():
        record_event(
            event=EVENT_CORRECTED,
            outcome="success",
            by=by,
            patient_system=system,
            patient_value=value,
            municipalities=[changed[0].source_orgnr],
            data={
                "source_orgnr": changed[0].source_orgnr,
                "measurements": [
                    {"id": str(row.id), "kind": row.kind, "version": row.version, "status": row.status}
                    for row in changed[:100]
                ],
                "count": len(changed),
            },
        )


# --- Reads for the ingest API (the sender's own rows, never a patient read) -----------------


def sent_with_key(*, source_orgnr: str, dedup_key: str) -> Measurement | None:
    """The measurement this sender already sent under `dedup_key` (id and version only)."""
    return Measurement.objects.filter(source_orgnr=source_orgnr, dedup_key=dedup_key).only("id", "version").first()


def stored_resource(measurement_id: uuid.UUID) -> dict[str, Any]:
    """The raw resource stored for a measurement, to answer its sender's write; {} if none."""
    stored = RawResource.objects.filter(measurement_id=measurement_id).values_list("resource", flat=True).first()
    return dict(stored) if stored else {}
