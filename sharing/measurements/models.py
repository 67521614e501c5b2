"""One narrow row per measurement, made for reading; the raw resource lives beside it.

A correction (a new version of a measurement the sender already sent) replaces the row's
values in place, so every read sees the current version; the earlier version moves to
``MeasurementVersion`` with its raw resource. Nothing is deleted except by the municipality's
retention rule or its instruction for one patient (``retention.py``, ``deletion.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from django.db import connections, models
from django.db.models import F, Q, Subquery, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber

# The columns that make up what a measurement says; a change in any of them is a new version.
CONTENT_FIELDS = (
    "patient_system",
    "patient_value",
    "kind",
    "code_system",
    "code",
    "effective",
    "effective_end",
    "status",
    "value",
    "unit",
    "value_code",
    "value_display",
    "components",
    "reference_low",
    "reference_high",
)
# What the sender's system said beside the value: shown to clinicians, carried over by a correction,
# but not part of the fingerprint (a re-sent measurement with a new note is the same measurement).
CONTEXT_FIELDS = ("ranges", "interpretation", "note", "device")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, Mapping):
        return sorted((str(k), _plain(v)) for k, v in value.items())
    return value


def content_fingerprint(fields: Mapping[str, Any]) -> str:
    """SHA-256 of a measurement's content and status, the same whether read from a row or built for one.

    A re-sent copy of the current or of any earlier version has a fingerprint already on file,
    so it changes nothing; anything else sent under the same identity is a new version.
    """
    canonical = [_plain(fields[name]) for name in CONTENT_FIELDS]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


class MeasurementQuerySet(models.QuerySet["Measurement"]):
    def for_patient(self, value: str) -> MeasurementQuerySet:
        return self.filter(patient_value=value)

    def visible(self) -> MeasurementQuerySet:
        """What clinicians may see: entered-in-error and cancelled stay stored, but hidden."""
        return self.exclude(status__in=Measurement.HIDDEN_STATUSES)

    def granted(self, grant: Grant, *, withdrawn: bool = False) -> MeasurementQuerySet:
        """What a granted access decision lets its actor see: the decision's patient, the visible
        measurements, within its scopes (source, kinds, look-back). Nothing for a denied one.
        With `withdrawn`, also the ones withdrawn (entered-in-error, cancelled) within the same
        scopes: the FHIR API's history and incremental sync show a withdrawal as the last version.

        The one door to measurement rows for a patient read: `sharing.access` builds every read
        from here (import-linter and tests/test_layers.py keep other layers out).
        """
        if not grant.granted or not grant.patient:
            return self.none()
        allowed = Q(pk__in=[])
        for scope in grant.scopes:
            part = Q(source_orgnr=scope.municipality)
            if scope.kinds is not None:
                part &= Q(kind__in=sorted(scope.kinds))
            if scope.since is not None:
                part &= Q(effective__gte=scope.since)
            allowed |= part
        rows = self if withdrawn else self.visible()
        # The patient's linked numbers (a D-number replaced by a fødselsnummer) are the same person.
        return rows.filter(patient_value__in=grant.numbers).filter(allowed)

    def newest_per_code(self, per_code: int, *, patients: Sequence[str]) -> MeasurementQuerySet:
        """These rows' newest `per_code` of each code (kind, code system and code), for $lastn.

        Index probes, whatever the length of the history: the codes `patients` (the person's
        numbers) have from PatientCode, then for each number and code the newest rows of this
        queryset by the (patient, kind, effective) index, newest first, LIMIT `per_code`. The
        probes run this queryset's own SQL, so every filter on it (the grant's scope, a search's
        parameters) applies; a person with linked numbers has their probes ranked together, a
        window over those few rows only. A code a number no longer has finds nothing.
        """
        if connections[self.db].vendor != "postgresql":  # the SQLite demo has no PatientCode rows: rank
            order = [F("effective").desc(), F("id").desc()]
            ranked = self.annotate(
                rank=Window(RowNumber(), partition_by=[F("kind"), F("code_system"), F("code")], order_by=order)
            )
            return self.filter(id__in=Subquery(ranked.filter(rank__lte=per_code).values("id")))
        columns = ("id", "patient_value", "kind", "code_system", "code", "effective")
        inner, params = self.order_by().values(*columns).query.sql_with_params()
        match = " AND ".join(f"m.{c} = c.{c}" for c in columns[1:5])
        sql = (
            "SELECT ranked.id FROM (SELECT p.id, row_number() OVER ("  # noqa: S608 - the queryset's own SQL
            "PARTITION BY c.kind, c.code_system, c.code ORDER BY p.effective DESC, p.id DESC) AS n FROM ("
            "SELECT DISTINCT patient_value, kind, code_system, code FROM measurements_patientcode "
            "WHERE patient_value = ANY(%s)) AS c CROSS JOIN LATERAL ("
            f"SELECT m.id, m.effective FROM ({inner}) AS m WHERE {match} "
            "ORDER BY m.effective DESC LIMIT %s) AS p) AS ranked WHERE ranked.n <= %s"
        )
        values = [list(patients), *params, per_code, per_code]
        return self.filter(id__in=RawSQL(sql, values))  # noqa: S611 - names and values bound as parameters


class GrantScope(Protocol):
    """One agreement's part of a grant (sharing.access.decision.Scope)."""

    @property
    def municipality(self) -> str: ...
    @property
    def kinds(self) -> frozenset[str] | None: ...
    @property
    def since(self) -> dt.datetime | None: ...


class Grant(Protocol):
    """A granted access decision (sharing.access.decision.Decision), as far as reads need it."""

    @property
    def granted(self) -> bool: ...
    @property
    def patient(self) -> str: ...
    @property
    def numbers(self) -> tuple[str, ...]: ...
    @property
    def scopes(self) -> Iterable[GrantScope]: ...


class Measurement(models.Model):
    HIDDEN_STATUSES = ("entered-in-error", "cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient_system = models.CharField(max_length=64)
    patient_value = models.CharField(max_length=32)
    patient_display = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=32)
    code_system = models.CharField(max_length=100)
    code = models.CharField(max_length=64)
    code_display = models.CharField(max_length=200, blank=True)
    effective = models.DateTimeField()
    effective_end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20)
    value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    value_code = models.CharField(max_length=64, blank=True)
    value_display = models.CharField(max_length=200, blank=True)
    # Blood pressure parts and NEWS2 sub-scores, keyed by short names ("systolic", ...).
    components = models.JSONField(default=dict, blank=True)
    reference_low = models.FloatField(null=True, blank=True)
    reference_high = models.FloatField(null=True, blank=True)
    # The municipality (data controller) that sent it, from the sending client's token.
    source_orgnr = models.CharField(max_length=9)
    # Idempotency: the sender's identifier, else the resource id, else a content hash.
    dedup_key = models.CharField(max_length=300)
    flags = models.JSONField(default=list, blank=True)
    # What the municipality's system said beside the value (docs/clinician.md): its ranges per part
    # ({"systolic": [low, high], ...}; the single value's range is reference_low/high), its
    # interpretation code (the traffic light), the patient's note and the device.
    ranges = models.JSONField(default=dict, blank=True)
    interpretation = models.CharField(max_length=32, blank=True)
    note = models.TextField(blank=True)
    device = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    # Corrections: which version this row holds (earlier ones are MeasurementVersion rows), the
    # fingerprint of its content and status, when it last changed and which client sent it.
    version = models.PositiveIntegerField(default=1)
    fingerprint = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    client_id = models.CharField(max_length=200, blank=True)
    # The FHIR version the sender's resource was (R4 "4.0" or R5 "5.0"); the raw resource is kept as received.
    fhir_version = models.CharField(max_length=8, default="4.0", blank=True)

    objects = MeasurementQuerySet.as_manager()

    class Meta:
        constraints = [
            # The same measurement re-sent by the same municipality is stored once.
            models.UniqueConstraint(fields=["source_orgnr", "dedup_key"], name="measurement_dedup"),
        ]
        indexes = [
            # Patient page, charts and FHIR search: one patient, one kind, a time range.
            models.Index(fields=["patient_value", "kind", "effective"], name="measurement_patient_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.patient_value} {self.effective:%Y-%m-%d %H:%M}"

    @property
    def hidden(self) -> bool:
        return self.status in self.HIDDEN_STATUSES

    def content(self) -> dict[str, Any]:
        """What the measurement says, as stored: the fields a version snapshot keeps."""
        values = {name: getattr(self, name) for name in CONTENT_FIELDS}
        for name in ("effective", "effective_end"):
            values[name] = values[name].isoformat() if values[name] is not None else None
        extra = {"ranges": self.ranges, "interpretation": self.interpretation, "note": self.note, "device": self.device}
        return {**values, "flags": list(self.flags), "patient_display": self.patient_display, **extra}


class RawResource(models.Model):
    """The resource exactly as received, kept apart so the measurement table stays narrow."""

    measurement = models.OneToOneField(Measurement, primary_key=True, on_delete=models.CASCADE, related_name="raw")
    resource = models.JSONField()

    def __str__(self) -> str:
        return f"raw {self.measurement_id}"


class MeasurementVersion(models.Model):
    """An earlier version of a measurement, kept when a correction replaced it. Never changed.

    ``content`` holds the measurement's columns as they were (``Measurement.content()``) and
    ``resource`` the raw resource that carried them; ``superseded_at`` is when the next
    version arrived.
    """

    measurement = models.ForeignKey(Measurement, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=20)
    content = models.JSONField()
    resource = models.JSONField()
    client_id = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()
    superseded_at = models.DateTimeField()

    class Meta:
        constraints = [
            # One row per earlier version; also the index ingest reads known fingerprints through.
            models.UniqueConstraint(fields=["measurement", "version"], name="measurement_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.measurement_id} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("An earlier version of a measurement is never changed.")
        super().save(*args, **kwargs)


class PatientSource(models.Model):
    """Which municipalities hold data on a patient: the access decision's first question.

    Kept by ingest (insert-if-absent), so deciding never scans a patient's measurements.
    """

    patient_value = models.CharField(max_length=32)
    patient_system = models.CharField(max_length=64)
    source_orgnr = models.CharField(max_length=9)
    display = models.CharField(max_length=200, blank=True)
    first_seen = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # access.decide looks up by patient; ingest inserts each pair once.
            models.UniqueConstraint(fields=["patient_value", "source_orgnr"], name="patient_source_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.patient_value} @ {self.source_orgnr}"


class PatientCode(models.Model):
    """Which codes a patient's measurements carry, per municipality and kind: $lastn's groups.

    $lastn answers the newest measurements of each code, and a kind may hold more than one code
    (LOINC or SNOMED CT for a heart rate; three for glucose; any for "other"). The measurement
    index has no code in it, so finding a patient's codes there means reading their history;
    here it is one index lookup, and each code's newest rows are then an index probe
    (`MeasurementQuerySet.newest_per_code`).

    Added by the database itself: a statement trigger on the measurement table inserts the codes
    of every inserted or updated row (migration 0007), so no write path (ingest, corrections, the
    data generator's COPY, a test's bulk_create) can leave one out. Removed with the patient's
    data (deletion and retention, beside PatientSource). A row whose measurements are gone costs
    one probe that finds nothing; it never makes $lastn show anything the scope does not allow.
    """

    patient_value = models.CharField(max_length=32)
    source_orgnr = models.CharField(max_length=9)
    kind = models.CharField(max_length=32)
    code_system = models.CharField(max_length=100)
    code = models.CharField(max_length=64)

    class Meta:
        constraints = [
            # The trigger's insert-if-absent, and $lastn's lookup by patient.
            models.UniqueConstraint(
                fields=["patient_value", "source_orgnr", "kind", "code_system", "code"], name="patient_code_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_value} {self.kind} {self.code_system}|{self.code}"


class IdentityLinkQuerySet(models.QuerySet["IdentityLink"]):
    def person(self, value: str, field: str = "patient_value") -> Q:
        """Rows (of any model with `field`) about the person `value` names: the number itself, the
        fødselsnummer that replaced it, and every number linked to that fødselsnummer.

        A condition with subqueries, not a list: the access decision and the gather keep their query
        count. Links form a star (old numbers point at one fødselsnummer; link_identity refuses
        anything else), so three subqueries reach every number of the person.
        """
        links = IdentityLink.objects.all()
        replaced_by = links.filter(old_value=value).values("new_value")
        return (
            Q(**{field: value})
            | Q(**{f"{field}__in": replaced_by})
            | Q(**{f"{field}__in": links.filter(Q(new_value=value) | Q(new_value__in=replaced_by)).values("old_value")})
        )


class IdentityLink(models.Model):
    """A D-number or FHN (``old``) replaced by the patient's fødselsnummer (``new``).

    Measurements stay stored under the number they arrived with; a read about either number is
    about the person (``IdentityLink.objects.person(...)``). Recorded on a municipality's
    instruction (``sharing.measurements.actions.link_identity``), audited; never changed.
    """

    old_system = models.CharField(max_length=64)
    old_value = models.CharField(max_length=32)
    new_system = models.CharField(max_length=64)
    new_value = models.CharField(max_length=32)
    # On whose instruction: the municipality (data controller) and what it rests on.
    municipality_orgnr = models.CharField(max_length=9)
    instruction = models.TextField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.CharField(max_length=200)
    recorded_by_pid = models.CharField(max_length=32, blank=True)

    objects = IdentityLinkQuerySet.as_manager()

    class Meta:
        ordering = ["recorded_at"]
        constraints = [
            # An old number is replaced by one fødselsnummer (and the person filter's lookup by old_value).
            models.UniqueConstraint(fields=["old_value"], name="identity_link_old_unique"),
            models.CheckConstraint(condition=~Q(old_value=models.F("new_value")), name="identity_link_not_itself"),
        ]
        indexes = [
            # The person filter: every old number of one fødselsnummer.
            models.Index(fields=["new_value"], name="identity_link_new_idx"),
        ]

    def __str__(self) -> str:
        return f"link {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("An identity link is never changed.")
        super().save(*args, **kwargs)


class PatientDeletion(models.Model):
    """The municipality's instruction to delete one patient's data, and its four-eyes confirmation.

    One admin records the request (with the instruction it rests on); a second admin of the same
    municipality confirms it, and only then are the measurements deleted. The row stays as the
    record of what was done (no measurement values, only counts).
    """

    municipality_orgnr = models.CharField(max_length=9)
    patient_system = models.CharField(max_length=64)
    patient_value = models.CharField(max_length=32)
    instruction = models.TextField()
    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.CharField(max_length=200)
    requested_by_pid = models.CharField(max_length=32)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.CharField(max_length=200, blank=True)
    confirmed_by_pid = models.CharField(max_length=32, blank=True)
    measurements_deleted = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            # Four eyes: the person who confirms is not the person who asked.
            models.CheckConstraint(
                condition=Q(confirmed_by_pid="") | ~Q(confirmed_by_pid=models.F("requested_by_pid")),
                name="patient_deletion_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"deletion {self.pk} @ {self.municipality_orgnr}"

    @property
    def done(self) -> bool:
        return self.confirmed_at is not None
