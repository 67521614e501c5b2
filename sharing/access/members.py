"""Memberships: who may act for which organisation and unit, and the audited changes to them.

HelseID does not know where a person works. The organisation's own admin registers its members
here (by national ID or HPR number, with from/to dates); at login a person chooses among their
own memberships only, and the portal asks HelseID for that organisation and unit
(authorization_details). The service admin appoints each organisation's first admin.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sharing.agreements.models import Organisation
from sharing.audit.actions import record_event
from sharing.core.actor import Actor
from sharing.identifiers import InvalidIdentifier, parse_national_id

from . import people
from .models import Membership


@dataclass(frozen=True)
class Choice:
    """One organisation (and unit) a person may act for."""

    orgnr_parent: str
    parent_name: str
    orgnr_child: str = ""
    child_name: str = ""

    @property
    def key(self) -> str:
        return f"{self.orgnr_parent}:{self.orgnr_child}"

    @property
    def label(self) -> str:
        if self.orgnr_child:
            return f"{self.parent_name}, {self.child_name} ({self.orgnr_parent} / {self.orgnr_child})"
        return f"{self.parent_name} ({self.orgnr_parent})"


def choices_for(*, pid: str, hpr_number: str, on: dt.date) -> list[Choice]:
    """The organisations and units the person may act for on `on`, each once, in name order."""
    rows = (
        Membership.objects.on(on)
        .of_person(pid=pid, hpr_number=hpr_number)
        .select_related("organisation", "unit")
        .order_by("organisation__name", "unit__name")
    )
    seen: dict[str, Choice] = {}
    for row in rows:
        choice = Choice(
            orgnr_parent=row.organisation.orgnr,
            parent_name=row.organisation.name,
            orgnr_child=row.unit.orgnr if row.unit else "",
            child_name=row.unit.name if row.unit else "",
        )
        seen.setdefault(choice.key, choice)
    return list(seen.values())


def admin_of(*, pid: str, orgnr_parent: str, on: dt.date) -> Organisation | None:
    """The organisation `pid` administers while acting for `orgnr_parent`, or None."""
    if not pid or not orgnr_parent:
        return None
    row = (
        Membership.objects.on(on)
        .filter(pid=pid, is_admin=True, organisation__orgnr=orgnr_parent)
        .select_related("organisation")
        .first()
    )
    return row.organisation if row else None


def _describe(row: Membership) -> dict[str, object]:
    return {
        "membership": row.pk,
        "organisation": row.organisation.orgnr,
        "unit": row.unit.orgnr if row.unit else None,
        "pid": row.pid,
        "hpr_number": row.hpr_number,
        "name": row.name,
        "admin": row.is_admin,
        "valid_from": row.valid_from.isoformat(),
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
    }


def _clean_person(pid: str, hpr_number: str) -> tuple[str, str]:
    pid, hpr_number = pid.strip(), hpr_number.strip()
    if not pid and not hpr_number:
        raise ValidationError({"pid": _("Give the person's national ID or HPR number.")})
    if pid:
        try:
            pid = parse_national_id(pid).value
        except InvalidIdentifier as exc:
            raise ValidationError({"pid": str(exc.message)}) from exc
    if hpr_number and not (hpr_number.isdigit() and 6 <= len(hpr_number) <= 9):
        raise ValidationError({"hpr_number": _("An HPR number is 6 to 9 digits.")})
    return pid, hpr_number


def add_member(
    *,
    organisation: Organisation,
    unit: Organisation | None,
    pid: str,
    hpr_number: str,
    valid_from: dt.date,
    valid_to: dt.date | None,
    is_admin: bool = False,
    by: Actor,
) -> Membership:
    """Let a person act for `organisation` (and `unit`, one of its own units) from `valid_from`
    to `valid_to`; audited. The person is named by number; the name kept is the one HelseID gave
    at their last login ("" if none yet, sharing.access.people), never a typed one. Raises
    ValidationError for a bad number, a unit of another organisation, or dates the wrong way round."""
    pid, hpr_number = _clean_person(pid, hpr_number)
    name = people.identify(pid=pid, hpr_number=hpr_number).name
    if organisation.parent_id is not None:
        raise ValidationError({"organisation": _("Members belong to a legal entity, not to a unit.")})
    if unit is not None and unit.parent_id != organisation.pk:
        raise ValidationError({"unit": _("The unit must belong to the organisation.")})
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError({"valid_to": _("The end date is before the start date.")})
    if is_admin and not pid:
        raise ValidationError({"pid": _("An organisation admin is named by national ID.")})
    with transaction.atomic():
        row = Membership.objects.create(
            organisation=organisation,
            unit=unit,
            pid=pid,
            hpr_number=hpr_number,
            name=name,
            is_admin=is_admin,
            valid_from=valid_from,
            valid_to=valid_to,
            created_at=timezone.now(),
            created_by=by.name,
            created_by_pid=by.pid,
        )
        record_event(event="membership.add", outcome="success", by=by, data={"after": _describe(row)})
    return row


def end_member(*, membership: Membership, by: Actor) -> Membership:
    """End a membership at once; the row stays, with who ended it. Audited."""
    with transaction.atomic():
        row = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("organisation", "unit")
            .get(pk=membership.pk)
        )
        if row.ended_at is not None:
            raise ValidationError(_("This membership has already ended."))
        row.ended_at = timezone.now()
        row.ended_by = by.name
        row.ended_by_pid = by.pid
        row.save(update_fields=["ended_at", "ended_by", "ended_by_pid"])
        record_event(event="membership.end", outcome="success", by=by, data={"before": _describe(row)})
    return row


def appoint_admin(*, organisation: Organisation, pid: str, valid_from: dt.date, by: Actor) -> Membership:
    """Appoint an organisation admin (named by national ID), who manages the organisation's
    members on its own pages; the service admin's act, audited as membership.add (admin)."""
    if organisation.kind == Organisation.Kind.MUNICIPALITY:
        raise ValidationError({"organisation": _("Organisation admins are appointed for the organisations that read.")})
    if pid and Membership.objects.live().filter(organisation=organisation, pid=pid.strip(), is_admin=True).exists():
        raise ValidationError({"pid": _("This person is already an admin of the organisation.")})
    return add_member(
        organisation=organisation,
        unit=None,
        pid=pid,
        hpr_number="",
        valid_from=valid_from,
        valid_to=None,
        is_admin=True,
        by=by,
    )


def remove_admin(*, membership: Membership, by: Actor) -> Membership:
    """End an organisation admin's appointment (the row stays, with who ended it); audited."""
    if not membership.is_admin:
        raise ValidationError(_("This membership is not an admin appointment."))
    return end_member(membership=membership, by=by)
