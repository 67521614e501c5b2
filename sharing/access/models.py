"""Roles granted to people: who may administer, audit or run the service, and for which municipality.

A clinician is not granted: the role follows from what HelseID vouches for at login (an HPR
number, security level 4, an organisation). Every other role is granted here, in the portal,
by someone allowed to, never by a claim alone. Grants name the person by national identity
number (HelseID's pid claim), so a role can be granted before the person's first login.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q

from sharing.agreements.models import Organisation
from sharing.core.actor import ROLE_LABELS, Role

# Roles that hold for one municipality, for one reading organisation (a hospital, a GP office),
# and roles that hold across the service.
MUNICIPAL_ROLES = frozenset({Role.MUNICIPALITY_ADMIN, Role.AUDITOR})
ORGANISATION_ROLES = frozenset({Role.ORG_AUDITOR})
SERVICE_ROLES = frozenset({Role.SERVICE_AUDITOR, Role.SYSTEM_ADMIN})
GRANTABLE_ROLES = MUNICIPAL_ROLES | ORGANISATION_ROLES | SERVICE_ROLES


class RoleGrantQuerySet(models.QuerySet["RoleGrant"]):
    def live(self) -> RoleGrantQuerySet:
        return self.filter(revoked_at__isnull=True)

    def of_municipality(self, orgnr: str) -> RoleGrantQuerySet:
        return self.filter(municipality__orgnr=orgnr)

    def service_wide(self) -> RoleGrantQuerySet:
        return self.filter(municipality__isnull=True)


class RoleGrant(models.Model):
    role = models.CharField(max_length=32, choices=[(str(role), ROLE_LABELS[role]) for role in sorted(GRANTABLE_ROLES)])
    # The person: national identity number (matched against HelseID's pid) and name for display.
    pid = models.CharField(max_length=11)
    name = models.CharField(max_length=200)
    # Null for service-wide roles; the municipality for municipal roles; the reading organisation
    # for organisation roles (constraint below). The column keeps its first name.
    municipality = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="role_grants"
    )
    granted_at = models.DateTimeField()
    granted_by = models.CharField(max_length=200)
    granted_by_pid = models.CharField(max_length=32, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=200, blank=True)
    revoked_by_pid = models.CharField(max_length=32, blank=True)

    objects = RoleGrantQuerySet.as_manager()

    class Meta:
        ordering = ["role", "name", "pk"]
        constraints = [
            # Municipal roles name their municipality; service roles name none.
            models.CheckConstraint(
                condition=(
                    Q(role__in=sorted(MUNICIPAL_ROLES | ORGANISATION_ROLES), municipality__isnull=False)
                    | Q(role__in=sorted(SERVICE_ROLES), municipality__isnull=True)
                ),
                name="role_grant_scope_matches_role",
            ),
            # One live grant of a role per person and municipality (two constraints: NULLs differ).
            models.UniqueConstraint(
                fields=["pid", "role", "municipality"],
                condition=Q(revoked_at__isnull=True, municipality__isnull=False),
                name="role_grant_live_municipal",
            ),
            models.UniqueConstraint(
                fields=["pid", "role"],
                condition=Q(revoked_at__isnull=True, municipality__isnull=True),
                name="role_grant_live_service",
            ),
        ]
        indexes = [
            # Every portal request: the live grants of the logged-in person.
            models.Index(fields=["pid"], condition=Q(revoked_at__isnull=True), name="role_grant_live_pid_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.role} for {self.name}"

    @property
    def role_label(self) -> str:
        return str(ROLE_LABELS[Role(self.role)])

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class MembershipQuerySet(models.QuerySet["Membership"]):
    def live(self) -> MembershipQuerySet:
        return self.filter(ended_at__isnull=True)

    def on(self, day: dt.date) -> MembershipQuerySet:
        """In force on `day`: not ended, and inside valid_from..valid_to."""
        return self.live().filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day), valid_from__lte=day)

    def of_person(self, *, pid: str, hpr_number: str) -> MembershipQuerySet:
        """Registered under the person's national ID or their HPR number (both as HelseID gives them)."""
        match = Q(pk__in=[])
        if pid:
            match |= Q(pid=pid)
        if hpr_number:
            match |= Q(hpr_number=hpr_number)
        return self.filter(match)


class Membership(models.Model):
    """Who may act for an organisation, and for which unit, registered by that organisation's own
    admin (HelseID does not know where a person works). The person is named by national ID or
    HPR number. Ending a membership keeps the row, with who ended it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="memberships")
    # Null: the legal entity itself (NO:ORGNR:<parent>:), no unit.
    unit = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="unit_memberships"
    )
    pid = models.CharField(max_length=11, blank=True)
    hpr_number = models.CharField(max_length=9, blank=True)
    name = models.CharField(max_length=200)
    # An organisation admin manages the organisation's memberships (appointed by the service admin).
    is_admin = models.BooleanField(default=False)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    created_by_pid = models.CharField(max_length=32, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=200, blank=True)
    ended_by_pid = models.CharField(max_length=32, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "unit__name", "name", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(pid="", hpr_number=""), name="membership_names_a_person"),
        ]
        indexes = [
            models.Index(fields=["pid"], condition=Q(ended_at__isnull=True), name="membership_live_pid_idx"),
            models.Index(fields=["hpr_number"], condition=Q(ended_at__isnull=True), name="membership_live_hpr_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.organisation_id}/{self.unit_id or '-'}"

    @property
    def orgnr_parent(self) -> str:
        return self.organisation.orgnr

    @property
    def orgnr_child(self) -> str:
        return self.unit.orgnr if self.unit else ""


class KnownPerson(models.Model):
    """A person HelseID has named to the portal: national ID, HPR number and name exactly as their
    last login's ID token said (updated at every login). How an admin finds a person by number and
    sees a name nobody typed (sharing.access.people); a person who never logged in is not here."""

    pid = models.CharField(max_length=32, unique=True)
    hpr_number = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=200)
    first_login_at = models.DateTimeField()
    last_login_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "pk"]
        indexes = [
            # Finding a person by HPR number (the admin's picker, the lists' names).
            models.Index(fields=["hpr_number"], condition=~Q(hpr_number=""), name="known_person_hpr_idx"),
        ]

    def __str__(self) -> str:
        return self.name
