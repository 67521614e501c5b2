"""Audited writes to organisations and agreements.

Every change to an agreement runs in one transaction that locks the row, saves it, appends a
revision (the terms after the change) and writes the audit record with before and after. The
status moves only along the arrows below; anything else is refused with a ValidationError.

    draft ──activate──▶ active ──suspend──▶ suspended ──resume──▶ active
                          │                     │
                          └──────terminate──────┴──▶ terminated
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sharing.audit.actions import record_event
from sharing.core.actor import Actor
from sharing.core.basis import DEFAULT_AGREEMENT_BASES, Basis
from sharing.identifiers import InvalidIdentifier, parse_national_id

from .models import Agreement, AgreementRevision, Organisation, ProcessingAgreement, Reservation, SenderAuthorisation

Status = Agreement.Status
Change = AgreementRevision.Change

# The access log's event code for each kind of change (sharing/audit/events.py labels them).
EVENTS = {
    Change.CREATED: "agreement.create",
    Change.EDITED: "agreement.edit",
    Change.ACTIVATED: "agreement.activate",
    Change.AMENDED: "agreement.amend",
    Change.SUSPENDED: "agreement.suspend",
    Change.RESUMED: "agreement.resume",
    Change.TERMINATED: "agreement.terminate",
}


def register_organisation(
    *, orgnr: str, name: str, kind: str, parent: Organisation | None = None, by: Actor
) -> Organisation:
    """Add or update an organisation (legal entity, or a unit under one), audited; one registered
    as it is already is left alone (nothing written, nothing logged)."""
    with transaction.atomic():
        found = Organisation.objects.filter(orgnr=orgnr).first()
        if found is not None and (found.name, found.kind, found.parent_id) == (
            name,
            kind,
            parent.pk if parent else None,
        ):
            return found
        org, created = Organisation.objects.update_or_create(
            orgnr=orgnr, defaults={"name": name, "kind": kind, "parent": parent}
        )
        org.full_clean()
        after = {"orgnr": orgnr, "name": name, "kind": kind, "parent": parent.orgnr if parent else None}
        record_event(event="organisation.register", outcome="success", by=by, data={"created": created, "after": after})
    return org


# The kinds the service admin registers in the portal: the organisations that read. Municipalities
# (the data controllers) come with a municipality number and a processing agreement, by command.
CONSUMER_KINDS = (Organisation.Kind.HOSPITAL, Organisation.Kind.GP_OFFICE, Organisation.Kind.OTHER)


def _register_new(*, orgnr: str, name: str, kind: str, parent: Organisation | None, by: Actor) -> Organisation:
    orgnr, name = orgnr.strip().replace(" ", ""), name.strip()
    if Organisation.objects.filter(orgnr=orgnr).exists():
        raise ValidationError({"orgnr": _("An organisation with this number is already registered.")})
    org = Organisation(orgnr=orgnr, name=name, kind=kind, parent=parent)
    org.full_clean()
    with transaction.atomic():
        org.save()
        after = {"orgnr": orgnr, "name": name, "kind": kind, "parent": parent.orgnr if parent else None}
        record_event(event="organisation.register", outcome="success", by=by, data={"created": True, "after": after})
    return org


def register_consumer(*, orgnr: str, name: str, kind: str, by: Actor) -> Organisation:
    """Register a new organisation that reads (hospital, GP office, other); audited. Refuses a
    number already registered (nothing is overwritten), a bad number, and a municipality."""
    if kind not in CONSUMER_KINDS:
        raise ValidationError({"kind": _("Choose a hospital, a GP office or another organisation.")})
    return _register_new(orgnr=orgnr, name=name, kind=kind, parent=None, by=by)


def register_unit(*, parent: Organisation, orgnr: str, name: str, by: Actor) -> Organisation:
    """Register a new unit (underenhet) of a consumer organisation; audited."""
    if not parent.is_legal_entity or parent.kind not in CONSUMER_KINDS:
        raise ValidationError({"orgnr": _("Units are registered under a hospital, GP office or other organisation.")})
    return _register_new(orgnr=orgnr, name=name, kind=parent.kind, parent=parent, by=by)


@dataclass(frozen=True)
class Terms:
    """What an agreement says: everything the municipality admin writes in a draft."""

    consumer: Organisation
    valid_from: dt.date
    valid_to: dt.date | None = None
    units: tuple[Organisation, ...] = ()
    kinds: tuple[str, ...] = ()  # empty: every kind
    lookback_days: int | None = None  # None: everything
    lookback_from_start: bool = False  # nothing measured before valid_from
    bases: tuple[Basis, ...] = DEFAULT_AGREEMENT_BASES
    professions: tuple[str, ...] = ()  # HPR profession codes; empty: every profession
    purpose: str = ""
    legal_basis: str = ""


def _check_terms(controller: Organisation, terms: Terms) -> None:
    errors: dict[str, str] = {}
    if controller.kind != Organisation.Kind.MUNICIPALITY or not controller.is_legal_entity:
        errors["controller"] = _("Only a municipality can share its measurements under an agreement.")
    if not terms.consumer.is_legal_entity:
        errors["consumer"] = _("The consumer must be a legal entity; limit the agreement to its units instead.")
    elif terms.consumer.pk == controller.pk:
        errors["consumer"] = _("A municipality cannot make an agreement with itself.")
    if any(unit.parent_id != terms.consumer.pk for unit in terms.units):
        errors["units"] = _("Every unit must belong to the consumer organisation.")
    if terms.valid_to is not None and terms.valid_to < terms.valid_from:
        errors["valid_to"] = _("The agreement cannot end before it begins.")
    if not terms.bases:
        errors["bases"] = _("Choose at least one access basis.")
    if terms.lookback_days is not None and terms.lookback_days <= 0:
        errors["lookback_days"] = _("The look-back window must be at least one day.")
    if errors:
        raise ValidationError(errors)


def _apply_terms(agreement: Agreement, terms: Terms) -> None:
    agreement.consumer = terms.consumer
    agreement.valid_from = terms.valid_from
    agreement.valid_to = terms.valid_to
    agreement.kinds = sorted(set(terms.kinds))
    agreement.lookback_days = terms.lookback_days
    agreement.lookback_from_start = terms.lookback_from_start
    agreement.bases = [str(b) for b in Basis if b in terms.bases]
    agreement.professions = sorted(set(terms.professions))
    agreement.purpose = terms.purpose.strip()
    agreement.legal_basis = terms.legal_basis.strip()


def _record(
    *, agreement: Agreement, change: AgreementRevision.Change, before: dict[str, object] | None, note: str, by: Actor
) -> None:
    """Save the revision and the audit record for a change already saved on `agreement`."""
    after = agreement.snapshot()
    AgreementRevision.objects.create(
        agreement=agreement,
        number=agreement.version,
        change=change,
        snapshot=after,
        note=note,
        changed_at=timezone.now(),
        changed_by=by.name,
        changed_by_pid=by.pid,
    )
    record_event(
        event=EVENTS[change],
        outcome="success",
        by=by,
        data={
            "agreement": agreement.pk,
            "version": agreement.version,
            "controller": agreement.controller.orgnr,
            "consumer": agreement.consumer.orgnr,
            # The names as they were at the change: the log shows them rather than the numbers.
            "controller_name": agreement.controller.name,
            "consumer_name": agreement.consumer.name,
            "before": before,
            "after": after,
        },
        reason=note,
    )


def _locked(agreement: Agreement) -> Agreement:
    return (
        Agreement.objects.select_for_update(of=("self",)).select_related("controller", "consumer").get(pk=agreement.pk)
    )


def _change(
    agreement: Agreement,
    *,
    allowed_from: Iterable[str],
    change: AgreementRevision.Change,
    note: str,
    by: Actor,
    apply: dict[str, object] | None = None,
    terms: Terms | None = None,
) -> Agreement:
    """The shared shape of every change: lock, check the status, change, revision, audit."""
    with transaction.atomic():
        agreement = _locked(agreement)
        if agreement.status not in allowed_from:
            raise ValidationError(
                _("This cannot be done to an agreement that is %(status)s.")
                % {"status": agreement.get_status_display().lower()}
            )
        before = agreement.snapshot()
        if terms is not None:
            _check_terms(agreement.controller, terms)
            _apply_terms(agreement, terms)
        for name, value in (apply or {}).items():
            setattr(agreement, name, value)
        agreement.version += 1
        agreement.full_clean(exclude=["controller", "consumer", "units"])
        agreement.save()
        if terms is not None:
            agreement.units.set(terms.units)
        _record(agreement=agreement, change=change, before=before, note=note, by=by)
    return agreement


def create_draft(*, controller: Organisation, terms: Terms, by: Actor) -> Agreement:
    """A new agreement in draft: it grants nothing until it is signed and activated."""
    _check_terms(controller, terms)
    with transaction.atomic():
        agreement = Agreement(controller=controller, status=Status.DRAFT, version=1)
        _apply_terms(agreement, terms)
        agreement.full_clean(exclude=["units"])
        agreement.save()
        agreement.units.set(terms.units)
        _record(agreement=agreement, change=Change.CREATED, before=None, note="", by=by)
    return agreement


def update_draft(*, agreement: Agreement, terms: Terms, by: Actor) -> Agreement:
    """Drafts can be rewritten freely; each save is still a revision."""
    return _change(agreement, allowed_from=[Status.DRAFT], change=Change.EDITED, note="", terms=terms, by=by)


def amend_agreement(*, agreement: Agreement, terms: Terms, note: str, by: Actor) -> Agreement:
    """Change the terms of a signed agreement. Needs a note; the earlier terms stay in the history."""
    if not note.strip():
        raise ValidationError({"note": _("Say why the agreement is amended.")})
    if terms.consumer.pk != agreement.consumer_id:
        raise ValidationError({"consumer": _("The consumer of a signed agreement cannot be changed.")})
    return _change(
        agreement,
        allowed_from=[Status.ACTIVE, Status.SUSPENDED],
        change=Change.AMENDED,
        note=note.strip(),
        terms=terms,
        by=by,
    )


def activate_agreement(
    *, agreement: Agreement, document_reference: str, signed_by: str, signed_on: dt.date, by: Actor
) -> Agreement:
    """Record the signed document and put the agreement in force (from its valid_from date)."""
    if not document_reference.strip() or not signed_by.strip():
        raise ValidationError(_("The signed document's reference and who signed it are required."))
    if signed_on > timezone.localdate():
        raise ValidationError({"signed_on": _("The signing date cannot be in the future.")})
    return _change(
        agreement,
        allowed_from=[Status.DRAFT],
        change=Change.ACTIVATED,
        note="",
        apply={
            "status": Status.ACTIVE,
            "document_reference": document_reference.strip(),
            "signed_by": signed_by.strip(),
            "signed_on": signed_on,
        },
        by=by,
    )


def suspend_agreement(*, agreement: Agreement, note: str, by: Actor) -> Agreement:
    """Stop access at once while something is clarified; can be resumed."""
    if not note.strip():
        raise ValidationError({"note": _("Say why the agreement is suspended.")})
    apply: dict[str, object] = {"status": Status.SUSPENDED, "status_note": note.strip()}
    return _change(
        agreement, allowed_from=[Status.ACTIVE], change=Change.SUSPENDED, note=note.strip(), apply=apply, by=by
    )


def resume_agreement(*, agreement: Agreement, note: str, by: Actor) -> Agreement:
    apply: dict[str, object] = {"status": Status.ACTIVE, "status_note": note.strip()}
    return _change(
        agreement, allowed_from=[Status.SUSPENDED], change=Change.RESUMED, note=note.strip(), apply=apply, by=by
    )


def terminate_agreement(*, agreement: Agreement, note: str, by: Actor) -> Agreement:
    """End the agreement for good, effective immediately: the next lookup is already denied."""
    if not note.strip():
        raise ValidationError({"note": _("Say why the agreement is terminated.")})
    apply: dict[str, object] = {
        "status": Status.TERMINATED,
        "status_note": note.strip(),
        "terminated_on": timezone.localdate(),
    }
    return _change(
        agreement,
        allowed_from=[Status.ACTIVE, Status.SUSPENDED],
        change=Change.TERMINATED,
        note=note.strip(),
        apply=apply,
        by=by,
    )


def create_active_agreement(
    *,
    controller: Organisation,
    consumer: Organisation,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    kinds: list[str] | None = None,
    lookback_days: int | None = None,
    lookback_from_start: bool = False,
    purpose: str = "",
    bases: Iterable[Basis] = DEFAULT_AGREEMENT_BASES,
    units: Iterable[Organisation] = (),
    professions: Iterable[str] = (),
    document_reference: str = "",
    signed_by: str = "",
    signed_on: dt.date | None = None,
    by: Actor,
) -> Agreement:
    """Draft and activate in one go (demo data and tests): the same two audited steps as the pages."""
    terms = Terms(
        consumer=consumer,
        valid_from=valid_from,
        valid_to=valid_to,
        units=tuple(units),
        kinds=tuple(kinds or ()),
        lookback_days=lookback_days,
        lookback_from_start=lookback_from_start,
        bases=tuple(bases),
        professions=tuple(professions),
        purpose=purpose,
    )
    with transaction.atomic():
        draft = create_draft(controller=controller, terms=terms, by=by)
        return activate_agreement(
            agreement=draft,
            document_reference=document_reference or f"{controller.name} – {consumer.name}",
            signed_by=signed_by or by.name or "—",
            signed_on=signed_on or min(valid_from, timezone.localdate()),
            by=by,
        )


def record_reservation(
    *,
    municipality: Organisation,
    patient_value: str,
    objected_on: dt.date,
    consumers: Iterable[Organisation] = (),
    note: str = "",
    by: Actor,
) -> Reservation:
    """The patient objects to sharing: against the named consumers, or against all if none are named.

    Takes effect at once: the next lookup by a consumer it covers is denied.
    """
    try:
        patient = parse_national_id(patient_value)
    except InvalidIdentifier as exc:
        raise ValidationError({"patient_value": str(exc.message)}) from exc
    named = list(consumers)
    if any(not org.is_legal_entity or org.pk == municipality.pk for org in named):
        raise ValidationError({"consumers": _("Name consumer organisations (legal entities) other than yourself.")})
    if objected_on > timezone.localdate():
        raise ValidationError({"objected_on": _("The date of the objection cannot be in the future.")})
    with transaction.atomic():
        reservation = Reservation.objects.create(
            municipality=municipality,
            patient_system=patient.system,
            patient_value=patient.value,
            all_consumers=not named,
            objected_on=objected_on,
            note=note.strip(),
            created_by=by.name,
        )
        reservation.consumers.set(named)
        record_event(
            event="reservation.create",
            outcome="success",
            by=by,
            patient_system=patient.system,
            patient_value=patient.value,
            data={"reservation": reservation.pk, "after": _reservation_snapshot(reservation)},
            reason=reservation.note,
        )
    return reservation


def lift_reservation(*, reservation: Reservation, note: str, by: Actor) -> Reservation:
    """The patient withdraws the objection. The reservation stays on record, marked lifted."""
    with transaction.atomic():
        reservation = (
            Reservation.objects.select_for_update(of=("self",)).select_related("municipality").get(pk=reservation.pk)
        )
        if not reservation.in_force:
            raise ValidationError(_("This reservation has already been lifted."))
        before = _reservation_snapshot(reservation)
        reservation.lifted_at = timezone.now()
        reservation.lifted_by = by.name
        reservation.lift_note = note.strip()
        reservation.save(update_fields=["lifted_at", "lifted_by", "lift_note"])
        record_event(
            event="reservation.lift",
            outcome="success",
            by=by,
            patient_system=reservation.patient_system,
            patient_value=reservation.patient_value,
            data={"reservation": reservation.pk, "before": before, "after": _reservation_snapshot(reservation)},
            reason=reservation.lift_note,
        )
    return reservation


def _reservation_snapshot(reservation: Reservation) -> dict[str, object]:
    return {
        "municipality": reservation.municipality.orgnr,
        "all_consumers": reservation.all_consumers,
        "consumers": sorted(org.orgnr for org in reservation.consumers.all()),
        "objected_on": reservation.objected_on.isoformat(),
        "note": reservation.note,
        "in_force": reservation.in_force,
    }


# --- the service as data processor: processing agreements and authorised senders -------------


def set_municipality_number(*, municipality: Organisation, number: str, by: Actor) -> Organisation:
    """Record a municipality's number (kommunenummer, four digits): how PMD 2.0 Bundles name it."""
    if municipality.kind != Organisation.Kind.MUNICIPALITY or not municipality.is_legal_entity:
        raise ValidationError(_("Only a municipality has a municipality number."))
    if len(number) != 4 or not number.isdigit():
        raise ValidationError(_("A municipality number is four digits, e.g. 0301."))
    taken = Organisation.objects.filter(municipality_number=number).exclude(pk=municipality.pk).first()
    if taken is not None:
        raise ValidationError(
            _("Municipality number %(number)s is already %(org)s.") % {"number": number, "org": taken}
        )
    with transaction.atomic():
        before = municipality.municipality_number
        municipality.municipality_number = number
        municipality.save(update_fields=["municipality_number"])
        record_event(
            event="organisation.municipality_number",
            outcome="success",
            by=by,
            data={"orgnr": municipality.orgnr, "before": before, "after": number},
            municipalities=[municipality.orgnr],
        )
    return municipality


def record_processing_agreement(
    *,
    municipality: Organisation,
    reference: str,
    signed_on: dt.date,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    contact: str = "",
    retention_months: int | None = None,
    by: Actor,
) -> ProcessingAgreement:
    """Add or change (by reference) a municipality's data processing agreement; audited with before and after."""
    if municipality.kind != Organisation.Kind.MUNICIPALITY or not municipality.is_legal_entity:
        raise ValidationError(_("A data processing agreement is made with a municipality."))
    if not reference.strip():
        raise ValidationError(_("The agreement needs its reference."))
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError(_("The agreement cannot end before it begins."))
    if retention_months is not None and not 0 < retention_months <= 1200:
        raise ValidationError(_("The retention period is a number of months from 1 to 1200."))
    with transaction.atomic():
        found = ProcessingAgreement.objects.select_for_update().filter(municipality=municipality, reference=reference)
        dpa = found.first()
        before = dpa.snapshot() if dpa is not None else None
        if dpa is None:
            dpa = ProcessingAgreement(municipality=municipality, reference=reference)
        dpa.signed_on, dpa.valid_from, dpa.valid_to, dpa.contact = signed_on, valid_from, valid_to, contact
        dpa.retention_months = retention_months
        dpa.recorded_by = by.name
        dpa.save()
        record_event(
            event="processing_agreement.record",
            outcome="success",
            by=by,
            data={"before": before, "after": dpa.snapshot()},
            municipalities=[municipality.orgnr],
        )
    return dpa


def end_processing_agreement(*, agreement: ProcessingAgreement, on: dt.date, by: Actor) -> ProcessingAgreement:
    """The agreement is in force until ``on`` (inclusive); the same rules and record as any change."""
    return record_processing_agreement(
        municipality=agreement.municipality,
        reference=agreement.reference,
        signed_on=agreement.signed_on,
        valid_from=agreement.valid_from,
        valid_to=on,
        contact=agreement.contact,
        retention_months=agreement.retention_months,
        by=by,
    )


def authorise_sender(
    *,
    client_id: str,
    municipality: Organisation,
    valid_from: dt.date,
    instructed_by: str,
    client_name: str = "",
    valid_to: dt.date | None = None,
    by: Actor,
) -> SenderAuthorisation:
    """Let a system client send for a municipality from a day, on the municipality's instruction; audited."""
    if municipality.kind != Organisation.Kind.MUNICIPALITY or not municipality.is_legal_entity:
        raise ValidationError(_("A sender is authorised for a municipality."))
    if not client_id.strip() or not instructed_by.strip():
        raise ValidationError(_("Name the client and on whose instruction it is authorised."))
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError(_("The authorisation cannot end before it begins."))
    with transaction.atomic():
        row = SenderAuthorisation.objects.create(
            client_id=client_id.strip(),
            client_name=client_name,
            municipality=municipality,
            valid_from=valid_from,
            valid_to=valid_to,
            instructed_by=instructed_by,
            recorded_by=by.name,
        )
        record_event(
            event="sender.authorise",
            outcome="success",
            by=by,
            data={"after": row.snapshot()},
            municipalities=[municipality.orgnr],
        )
    return row


def end_sender_authorisation(*, authorisation: SenderAuthorisation, on: dt.date, by: Actor) -> SenderAuthorisation:
    """The client may no longer send for the municipality after ``on``; the row stays, audited."""
    with transaction.atomic():
        row = SenderAuthorisation.objects.select_for_update().get(pk=authorisation.pk)
        if on < row.valid_from:
            raise ValidationError(_("The authorisation cannot end before it begins."))
        before = row.snapshot()
        row.valid_to = on
        row.save(update_fields=["valid_to"])
        record_event(
            event="sender.end",
            outcome="success",
            by=by,
            data={"before": before, "after": row.snapshot()},
            municipalities=[row.municipality.orgnr],
        )
    return row
