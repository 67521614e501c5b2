"""Identity changes: a D-number or FHN replaced by the patient's fødselsnummer.

``link_identity`` records, on a municipality's instruction, that an old number (D-number or felles
hjelpenummer) now belongs to a fødselsnummer. Nothing is moved: measurements keep the number they
arrived with, and every read about either number reads the person (``IdentityLink.objects.person``
in the access decision and in ``Measurement.objects.granted``). Audited (``identity.link``).

Refused with a clear message: a link between two fødselsnummer, a link to anything but a
fødselsnummer, an H-number (internal), an old number already linked to another fødselsnummer, and a
link for a municipality that holds no measurements under either number. Recording the same link
again changes nothing.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from sharing.audit.actions import record_event
from sharing.core.actor import Actor
from sharing.identifiers import IdKind, InvalidIdentifier, NationalId, national_id_for_system, parse_national_id

from .models import IdentityLink, PatientSource

EVENT_LINK = "identity.link"


def parse_identifier(text: str) -> NationalId:
    """A number as a person or a FHIR token gives it: ``system|value`` or the bare value."""
    system, bar, value = text.strip().partition("|")
    try:
        return national_id_for_system(system, value) if bar else parse_national_id(system)
    except InvalidIdentifier as exc:
        raise ValidationError(str(exc.message)) from None


def _check(old: NationalId, new: NationalId) -> None:
    if old.kind is IdKind.FNR and new.kind is IdKind.FNR:
        raise ValidationError(_("Two national identity numbers (fødselsnummer) are never linked."))
    if IdKind.HNR in (old.kind, new.kind):
        raise ValidationError(_("An H number is internal to the organisation and must not be shared."))
    if old.kind not in (IdKind.DNR, IdKind.FHN):
        raise ValidationError(_("The number that is replaced must be a D number or a common auxiliary number."))
    if new.kind is not IdKind.FNR:
        raise ValidationError(_("The number that replaces it must be a national identity number (fødselsnummer)."))


def link_identity(*, old: NationalId, new: NationalId, municipality: str, instruction: str, by: Actor) -> IdentityLink:
    """Record that ``old`` (D-number or FHN) is replaced by ``new`` (fødselsnummer); audited."""
    _check(old, new)
    if not instruction.strip():
        raise ValidationError(_("Say which instruction from the municipality the link rests on."))
    # The municipality's own data first: whether either number is linked (by any municipality) is
    # told only to one that holds measurements under one of them, never to one that does not.
    holds = PatientSource.objects.filter(patient_value__in=[old.value, new.value], source_orgnr=municipality)
    if not holds.exists():
        raise ValidationError(_("The municipality holds no measurements under either number."))
    existing = IdentityLink.objects.filter(old_value=old.value).first()
    if existing is not None:
        if existing.new_value == new.value:
            return existing  # recorded already: safe to repeat
        raise ValidationError(_("This number is already linked to another national identity number."))
    try:
        with transaction.atomic():
            link = IdentityLink.objects.create(
                old_system=old.system,
                old_value=old.value,
                new_system=new.system,
                new_value=new.value,
                municipality_orgnr=municipality,
                instruction=instruction.strip(),
                recorded_by=by.name,
                recorded_by_pid=by.pid,
            )
            record_event(
                event=EVENT_LINK,
                outcome="success",
                by=by,
                patient_system=new.system,
                patient_value=new.value,
                data={"link": link.pk, "old_system": old.system, "old_value": old.value, "municipality": municipality},
                reason=instruction.strip(),
                municipalities=[municipality],
            )
    except IntegrityError:  # the same old number linked at the same moment by someone else
        raise ValidationError(_("This number is already linked to another national identity number.")) from None
    return link


def links_of(municipality: str) -> list[IdentityLink]:
    """The links a municipality has recorded, newest first (its admin page's list)."""
    return list(IdentityLink.objects.filter(municipality_orgnr=municipality).order_by("-recorded_at")[:200])
