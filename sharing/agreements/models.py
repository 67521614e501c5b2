"""Organisations and the sharing agreements between a municipality and a consumer."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sharing.identifiers import InvalidIdentifier, parse_orgnr


def validate_orgnr(value: str) -> None:
    try:
        parse_orgnr(value)
    except InvalidIdentifier as exc:
        raise ValidationError(str(exc.message), code="orgnr") from exc


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

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.orgnr})"


class AgreementQuerySet(models.QuerySet["Agreement"]):
    def active(self, *, on: dt.date) -> AgreementQuerySet:
        """Agreements in force on the given day: active status and inside the validity period."""
        return self.filter(status=Agreement.Status.ACTIVE, valid_from__lte=on).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=on)
        )


class Agreement(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    controller = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="agreements_as_controller")
    consumer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="agreements_as_consumer")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    purpose = models.TextField(blank=True)
    legal_basis = models.TextField(blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    # Scope: measurement kinds (empty list means every kind) and the look-back window in days
    # (null means everything the municipality holds).
    kinds = models.JSONField(default=list, blank=True)
    lookback_days = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        constraints = [
            # An agreement cannot end before it begins.
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="agreement_valid_period",
            ),
        ]
        indexes = [
            # access.decide: agreements of a consumer organisation with given controllers.
            models.Index(fields=["consumer", "controller", "status"], name="agreement_consumer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.controller.name} → {self.consumer.name}"
