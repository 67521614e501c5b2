"""Organisations, the sharing agreements between a municipality and a consumer, and reservations.

The municipality is data controller for its DHO measurements. Another organisation's clinicians
see them only under an agreement that is in force, within its scope, and not for a patient who
has objected to sharing (a reservation). `sharing.access.decide` reads these; every change goes
through `actions.py` and leaves an audit record (and, for agreements, a revision).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sharing.core.basis import DEFAULT_AGREEMENT_BASES
from sharing.identifiers import InvalidIdentifier, parse_orgnr


def validate_orgnr(value: str) -> None:
    try:
        parse_orgnr(value)
    except InvalidIdentifier as exc:
        raise ValidationError(str(exc.message), code="orgnr") from exc


def default_bases() -> list[str]:
    return [str(basis) for basis in DEFAULT_AGREEMENT_BASES]


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def names(self, orgnrs: Iterable[str]) -> dict[str, str]:
        """Organisation number to name, for the numbers the register knows."""
        wanted = set(orgnrs)
        return dict(self.filter(orgnr__in=wanted).values_list("orgnr", "name")) if wanted else {}

    def legal_entities(self) -> OrganisationQuerySet:
        """Organisations an agreement can be made with (orgnr_parent in HelseID's terms)."""
        return self.filter(parent__isnull=True)

    def municipalities(self) -> OrganisationQuerySet:
        return self.legal_entities().filter(kind=Organisation.Kind.MUNICIPALITY)


class Organisation(models.Model):
    class Kind(models.TextChoices):
        MUNICIPALITY = "municipality", _("Municipality")
        HOSPITAL = "hospital", _("Hospital")
        GP_OFFICE = "gp_office", _("GP office")
        OTHER = "other", _("Other")

    orgnr = models.CharField(max_length=9, unique=True, validators=[validate_orgnr])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # A sub-unit (orgnr_child) points at its legal entity (orgnr_parent).
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="units")
    # A municipality's number (kommunenummer, e.g. "0301" Oslo): how PMD 2.0 Bundles name it.
    municipality_number = models.CharField(max_length=4, blank=True, default="")

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            # A unit is not its own legal entity.
            models.CheckConstraint(condition=~Q(parent=models.F("pk")), name="organisation_not_own_parent"),
            # A municipality number names one organisation.
            models.UniqueConstraint(
                fields=["municipality_number"],
                condition=~Q(municipality_number=""),
                name="organisation_municipality_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.orgnr})"

    def clean(self) -> None:
        # Two levels only, as in HelseID and the Enhetsregister: legal entity and its units.
        if self.parent is not None and self.parent.parent_id is not None:
            raise ValidationError({"parent": _("A unit must belong to a legal entity, not to another unit.")})

    @property
    def is_legal_entity(self) -> bool:
        return self.parent_id is None


class AgreementQuerySet(models.QuerySet["Agreement"]):
    def active(self, *, on: dt.date) -> AgreementQuerySet:
        """Agreements in force on the given day: active status and inside the validity period."""
        return self.filter(status=Agreement.Status.ACTIVE, valid_from__lte=on).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=on)
        )

    def of_controller(self, orgnr: str) -> AgreementQuerySet:
        """One municipality's agreements: what its admin may see and change."""
        return self.filter(controller__orgnr=orgnr)

    def expiring(self, *, on: dt.date, within_days: int) -> AgreementQuerySet:
        """Agreements in force that end within the next `within_days` days: the admin's warning list."""
        return self.active(on=on).filter(valid_to__lte=on + dt.timedelta(days=within_days))


class Agreement(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    class State(models.TextChoices):
        """What an agreement is on a given day: its status, with the validity period applied."""

        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Signed, not yet in force")
        IN_FORCE = "in_force", _("In force")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")
        EXPIRED = "expired", _("Expired")

    controller = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="agreements_as_controller")
    consumer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="agreements_as_consumer")
    # Empty: every unit of the consumer. Otherwise only clinicians acting for one of these units.
    units = models.ManyToManyField(Organisation, blank=True, related_name="agreements_as_unit")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    purpose = models.TextField(blank=True)
    legal_basis = models.TextField(blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    # Scope: measurement kinds (empty list means every kind), the look-back window in days
    # (null means everything the municipality holds) and the access bases allowed.
    kinds = models.JSONField(default=list, blank=True)
    lookback_days = models.PositiveIntegerField(null=True, blank=True)
    # Nothing measured before the agreement's first day (valid_from) is shown: the least permissive
    # look-back, and the agreement form's default (issue 22). With lookback_days, the later start wins.
    lookback_from_start = models.BooleanField(default=False, db_default=False)
    bases = models.JSONField(default=default_bases)
    # HPR profession codes (LE lege, SP sykepleier, ...) whose holders the agreement covers; empty: all.
    professions = models.JSONField(default=list, blank=True)
    # The signed document: where it is filed, who signed, and when.
    document_reference = models.CharField(max_length=200, blank=True)
    signed_by = models.CharField(max_length=300, blank=True)
    signed_on = models.DateField(null=True, blank=True)
    # Why it was last suspended or terminated, and when it was terminated.
    status_note = models.TextField(blank=True)
    terminated_on = models.DateField(null=True, blank=True)
    # Counts the agreement's revisions; the latest revision carries this number.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["-valid_from", "pk"]
        constraints = [
            # An agreement cannot end before it begins.
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="agreement_valid_period",
            ),
            # A municipality does not share with itself.
            models.CheckConstraint(condition=~Q(controller=models.F("consumer")), name="agreement_two_parties"),
            # Only a signed agreement leaves draft: activation records when it was signed.
            models.CheckConstraint(
                condition=Q(status="draft") | Q(signed_on__isnull=False), name="agreement_signed_when_not_draft"
            ),
            # A look-back window of zero days would grant nothing; null means no limit.
            models.CheckConstraint(
                condition=Q(lookback_days__isnull=True) | Q(lookback_days__gt=0), name="agreement_lookback_positive"
            ),
        ]
        indexes = [
            # access.decide: agreements of a consumer organisation with given controllers.
            models.Index(fields=["consumer", "controller", "status"], name="agreement_consumer_idx"),
            # Admin list: one municipality's agreements.
            models.Index(fields=["controller", "status"], name="agreement_controller_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.controller.name} → {self.consumer.name}"

    def state_on(self, day: dt.date) -> Agreement.State:
        if self.status == self.Status.ACTIVE:
            if self.valid_to is not None and self.valid_to < day:
                return self.State.EXPIRED
            if self.valid_from > day:
                return self.State.PENDING
            return self.State.IN_FORCE
        return self.State(self.status)

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def snapshot(self) -> dict[str, Any]:
        """The agreement's terms as plain JSON: what revisions keep and audit records compare."""
        return {
            "controller": self.controller.orgnr,
            "consumer": self.consumer.orgnr,
            "units": sorted(unit.orgnr for unit in self.units.all()) if self.pk else [],
            "status": self.status,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "kinds": list(self.kinds),
            "lookback_days": self.lookback_days,
            "lookback_from_start": self.lookback_from_start,
            "bases": list(self.bases),
            "professions": list(self.professions),
            "document_reference": self.document_reference,
            "signed_by": self.signed_by,
            "signed_on": self.signed_on.isoformat() if self.signed_on else None,
            "status_note": self.status_note,
            "terminated_on": self.terminated_on.isoformat() if self.terminated_on else None,
        }


class AgreementRevision(models.Model):
    """One change to an agreement, with the terms as they stood after it. Never changed."""

    class Change(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Draft edited")
        ACTIVATED = "activated", _("Signed and activated")
        AMENDED = "amended", _("Amended")
        SUSPENDED = "suspended", _("Suspended")
        RESUMED = "resumed", _("Resumed")
        TERMINATED = "terminated", _("Terminated")

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    change = models.CharField(max_length=20, choices=Change.choices)
    snapshot = models.JSONField()
    note = models.TextField(blank=True)
    changed_at = models.DateTimeField()
    changed_by = models.CharField(max_length=200, blank=True)
    changed_by_pid = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["agreement", "number"]
        constraints = [
            # The history of one agreement is a sequence without gaps or duplicates.
            models.UniqueConstraint(fields=["agreement", "number"], name="agreement_revision_number"),
        ]

    def __str__(self) -> str:
        return f"agreement {self.agreement_id} v{self.number} {self.change}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("Agreement revisions are history and cannot be changed.")
        super().save(*args, **kwargs)


class ReservationQuerySet(models.QuerySet["Reservation"]):
    def in_force(self) -> ReservationQuerySet:
        return self.filter(lifted_at__isnull=True)

    def for_patient(self, value: str) -> ReservationQuerySet:
        return self.filter(patient_value=value)

    def against(self, consumer_orgnr: str) -> ReservationQuerySet:
        """Reservations that stop this consumer: those naming it, and those against every consumer."""
        return self.filter(Q(all_consumers=True) | Q(consumers__orgnr=consumer_orgnr)).distinct()


class Reservation(models.Model):
    """A patient's objection to sharing one municipality's measurements (sperring).

    Against every consumer, or against the named consumer organisations only. It holds until it
    is lifted; lifting keeps the row (with who lifted it and why) rather than deleting it.
    """

    municipality = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="reservations")
    patient_system = models.CharField(max_length=64)
    patient_value = models.CharField(max_length=32)
    all_consumers = models.BooleanField(default=True)
    consumers = models.ManyToManyField(Organisation, blank=True, related_name="reservations_against")
    # When the patient objected (the municipality may record it later).
    objected_on = models.DateField()
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.CharField(max_length=200, blank=True)
    lift_note = models.TextField(blank=True)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # access.decide: the reservations in force for one patient.
            models.Index(
                fields=["patient_value", "municipality"],
                condition=Q(lifted_at__isnull=True),
                name="reservation_in_force_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"reservation {self.pk} @ {self.municipality_id}"

    @property
    def in_force(self) -> bool:
        return self.lifted_at is None


class InForceQuerySet(models.QuerySet[Any]):
    def in_force(self, *, on: dt.date) -> Any:
        """Rows whose period covers the given day (valid_to inclusive; null: open-ended)."""
        return self.filter(valid_from__lte=on).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))


class ProcessingAgreement(models.Model):
    """A municipality's data processing agreement (databehandleravtale) with this service.

    The service keeps measurements on the municipality's behalf only inside such an agreement:
    ingest refuses data for a municipality without one in force. Kept by the service admin
    (``manage.py record_processing_agreement``), shown to the municipality's admins.
    """

    municipality = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="processing_agreements")
    reference = models.CharField(max_length=200)
    signed_on = models.DateField()
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    contact = models.CharField(max_length=300, blank=True)
    # The municipality's retention rule: a patient's measurements are deleted this many months after
    # their last measurement (manage.py purge_measurements). Null: kept until instructed otherwise.
    retention_months = models.PositiveIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.CharField(max_length=200, blank=True)

    objects = InForceQuerySet.as_manager()

    class Meta:
        ordering = ["municipality", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="processing_agreement_valid_period",
            ),
            models.UniqueConstraint(fields=["municipality", "reference"], name="processing_agreement_reference"),
            models.CheckConstraint(
                condition=Q(retention_months__isnull=True) | Q(retention_months__gt=0),
                name="processing_agreement_retention_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"DPA {self.reference} ({self.municipality_id})"

    def snapshot(self) -> dict[str, Any]:
        return {
            "municipality": self.municipality.orgnr,
            "reference": self.reference,
            "signed_on": self.signed_on.isoformat(),
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "contact": self.contact,
            "retention_months": self.retention_months,
        }


class SenderAuthorisation(models.Model):
    """A system client (by HelseID client_id) may send measurements for one municipality.

    A municipality's own DHO system has one row; the hub (VKP) one per municipality it sends
    for. Recorded by the service admin on the municipality's instruction
    (``manage.py authorise_sender``); ended by setting ``valid_to``, never deleted.
    """

    client_id = models.CharField(max_length=200)
    client_name = models.CharField(max_length=200, blank=True)
    municipality = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="senders")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    instructed_by = models.CharField(max_length=300)  # on whose instruction (the municipality's person, letter)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.CharField(max_length=200, blank=True)

    objects = InForceQuerySet.as_manager()

    class Meta:
        ordering = ["client_id", "municipality", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="sender_authorisation_valid_period",
            ),
        ]
        indexes = [models.Index(fields=["client_id"], name="sender_client_idx")]

    def __str__(self) -> str:
        return f"{self.client_id} → {self.municipality_id}"

    def snapshot(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_name": self.client_name,
            "municipality": self.municipality.orgnr,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "instructed_by": self.instructed_by,
        }
