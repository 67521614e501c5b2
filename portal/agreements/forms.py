"""Forms for the municipality admin's pages. They parse; the actions in `sharing` decide and write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.fields import DayField
from portal.login.people import PersonField, PersonForm
from sharing.access.models import MUNICIPAL_ROLES, ORGANISATION_ROLES, ROLE_LABELS, SERVICE_ROLES
from sharing.agreements.actions import Terms
from sharing.agreements.models import Agreement, Organisation
from sharing.core.actor import Role
from sharing.core.basis import BASIS_SHORT_LABELS, DEFAULT_AGREEMENT_BASES, Basis
from sharing.core.kinds import KIND_LABELS, Kind
from sharing.identifiers import InvalidIdentifier, NationalId, parse_national_id

FROM_START = "start"
LOOKBACK_CHOICES = [
    (FROM_START, _("From the agreement's start")),  # the least permissive, and the default
    ("", _("Everything the municipality holds")),
    ("30", _("30 days")),
    ("90", _("90 days")),
    ("180", _("180 days")),
    ("365", _("One year")),
    ("730", _("Two years")),
]
KIND_CHOICES = [(str(kind), label) for kind, label in KIND_LABELS.items() if kind != Kind.OTHER]


class UnitsWidget(forms.CheckboxSelectMultiple):
    """Each unit's checkbox names its legal entity (data-consumer), so the page's script can show only
    the chosen consumer's units (static/js/agreements/units.js); without script all are listed, with
    the entity in the label, and clean() refuses a unit of another."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        unit = getattr(value, "instance", None)
        if unit is not None:
            option["attrs"]["data-consumer"] = str(unit.parent_id)
        return option


def _national_id(value: str) -> NationalId:
    try:
        return parse_national_id(value)
    except InvalidIdentifier as exc:
        raise forms.ValidationError(str(exc.message), code=exc.code) from exc


class AgreementForm(forms.Form):
    consumer = forms.ModelChoiceField(
        label=_("Consumer organisation"),
        queryset=Organisation.objects.none(),
        empty_label=_("Choose an organisation…"),
        help_text=_("The legal entity whose clinicians may see the measurements."),
        widget=forms.Select(attrs={"data-units-for": "units"}),
    )
    units = forms.ModelMultipleChoiceField(
        label=_("Limit to units"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=UnitsWidget,
        help_text=_("Leave empty to cover every unit of the consumer."),
    )
    valid_from = DayField(label=_("Valid from"))
    valid_to = DayField(label=_("Valid to"), required=False, help_text=_("Leave empty for no end date."))
    all_kinds = forms.BooleanField(
        label=_("Every measurement kind, including kinds added later"), required=False, initial=False
    )  # nothing is shared until the admin chooses (issue 22: protect by default)
    kinds = forms.MultipleChoiceField(
        label=_("Measurement kinds"),
        choices=KIND_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Used only when not every kind is shared."),
    )
    lookback_days = forms.ChoiceField(
        label=_("Look-back window"),
        choices=LOOKBACK_CHOICES,
        required=False,
        initial=FROM_START,
        help_text=_("How far back from the day of the lookup the clinician can see."),
    )
    bases = forms.MultipleChoiceField(
        label=_("Access bases allowed"),
        choices=[(str(b), BASIS_SHORT_LABELS[b]) for b in Basis],
        widget=forms.CheckboxSelectMultiple,
        initial=[str(b) for b in DEFAULT_AGREEMENT_BASES],
        help_text=_("Emergency access is logged for mandatory review and lasts a few hours."),
    )
    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    legal_basis = forms.CharField(
        label=_("Legal basis"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False
    )

    def __init__(self, *args: Any, municipality: Organisation, agreement: Agreement | None = None, **kw: Any) -> None:
        if agreement is not None and "initial" not in kw:
            kw["initial"] = _initial(agreement)
        super().__init__(*args, **kw)
        consumers = Organisation.objects.legal_entities().exclude(pk=municipality.pk)
        self.fields["consumer"].queryset = consumers  # type: ignore[attr-defined]
        units = Organisation.objects.filter(parent__in=consumers).select_related("parent").order_by("parent__name")
        self.fields["units"].queryset = units  # type: ignore[attr-defined]
        self.fields["units"].label_from_instance = lambda unit: f"{unit.parent.name}: {unit.name}"  # type: ignore[attr-defined]
        if agreement is not None and agreement.status != Agreement.Status.DRAFT:
            # A signed agreement's parties and start stay as signed: a new party is a new agreement.
            self.fields["consumer"].disabled = True
            self.fields["valid_from"].disabled = True
        lookback = self.initial.get("lookback_days")
        if lookback and str(lookback).isdigit() and str(lookback) not in dict(LOOKBACK_CHOICES):
            self.fields["lookback_days"].choices = [*LOOKBACK_CHOICES, (str(lookback), _("%d days") % lookback)]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("all_kinds") and not data.get("kinds"):
            self.add_error("kinds", _("Choose the kinds to share, or share every kind."))
        consumer = data.get("consumer")
        foreign = [unit for unit in data.get("units") or () if consumer is not None and unit.parent_id != consumer.pk]
        if foreign and consumer is not None:
            names = ", ".join(f"{unit.parent.name}: {unit.name}" for unit in foreign)
            message = _("%(units)s is not a unit of %(consumer)s. Choose only units of the consumer organisation.")
            self.add_error("units", message % {"units": names, "consumer": consumer.name})
        return data

    def terms(self) -> Terms:
        data = self.cleaned_data
        return Terms(
            consumer=data["consumer"],
            units=tuple(data["units"]),
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
            kinds=() if data["all_kinds"] else tuple(data["kinds"]),
            lookback_days=int(data["lookback_days"]) if data["lookback_days"].isdigit() else None,
            lookback_from_start=data["lookback_days"] == FROM_START,
            bases=tuple(Basis(b) for b in data["bases"]),
            purpose=data["purpose"],
            legal_basis=data["legal_basis"],
        )


def _initial(agreement: Agreement) -> dict[str, Any]:
    return {
        "consumer": agreement.consumer_id,
        "units": list(agreement.units.values_list("pk", flat=True)),
        "valid_from": agreement.valid_from,
        "valid_to": agreement.valid_to,
        "all_kinds": not agreement.kinds,
        "kinds": list(agreement.kinds),
        "lookback_days": FROM_START if agreement.lookback_from_start else (agreement.lookback_days or ""),
        "bases": list(agreement.bases),
        "purpose": agreement.purpose,
        "legal_basis": agreement.legal_basis,
    }


class AmendForm(AgreementForm):
    note = forms.CharField(
        label=_("Why is the agreement amended?"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text=_("Kept in the agreement's history and in the access log."),
    )


class ActivateForm(forms.Form):
    document_reference = forms.CharField(
        label=_("Reference to the signed document"),
        max_length=200,
        help_text=_("For example the case or document number in the municipality's archive."),
    )
    signed_by = forms.CharField(
        label=_("Signed by"), max_length=300, help_text=_("Names and titles of those who signed, for both parties.")
    )
    signed_on = DayField(label=_("Signed on"))

    def clean_signed_on(self) -> dt.date:
        signed_on: dt.date = self.cleaned_data["signed_on"]
        if signed_on > timezone.localdate():
            raise forms.ValidationError(_("The signing date cannot be in the future."))
        return signed_on


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class OptionalNoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000, required=False)


class ReservationForm(forms.Form):
    patient = forms.CharField(
        label=_("Patient's national identity number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    against_all = forms.TypedChoiceField(
        label=_("The patient objects to sharing with"),
        choices=[("1", _("Every organisation")), ("0", _("Only the organisations chosen below"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
        initial="1",
    )
    consumers = forms.ModelMultipleChoiceField(
        label=_("Organisations"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    objected_on = DayField(label=_("Date of the objection"))
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=1000, required=False)

    def __init__(self, *args: Any, municipality: Organisation, **kw: Any) -> None:
        super().__init__(*args, **kw)
        others = Organisation.objects.legal_entities().exclude(pk=municipality.pk)
        self.fields["consumers"].queryset = others  # type: ignore[attr-defined]

    def clean_patient(self) -> NationalId:
        return _national_id(self.cleaned_data["patient"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("against_all") is False and not data.get("consumers"):
            self.add_error("consumers", _("Choose at least one organisation, or choose every organisation."))
        if data.get("against_all"):
            data["consumers"] = []
        return data


class GrantForm(PersonForm):
    person = PersonField(
        require_pid=True,
        label=_("National ID or HPR number"),
        help_text=_("The role applies when this person logs in with HelseID for the organisation."),
    )
    role = forms.ChoiceField(label=_("Role"))
    municipality = forms.ModelChoiceField(
        label=_("Municipality"),
        queryset=Organisation.objects.none(),
        required=False,
        help_text=_("Only for municipal roles."),
    )
    # Only offered to those who may grant organisation roles (the system admin).
    organisation = forms.ModelChoiceField(
        label=_("Reading organisation"),
        queryset=Organisation.objects.none(),
        required=False,
        help_text=_("Only for the privacy officer: the hospital or GP office whose staff's lookups they review."),
    )

    def __init__(self, *args: Any, roles: frozenset[Role], municipalities: QuerySet[Organisation], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["role"].choices = [(str(r), ROLE_LABELS[r]) for r in sorted(roles)]  # type: ignore[attr-defined]
        self.fields["municipality"].queryset = municipalities  # type: ignore[attr-defined]
        if roles & ORGANISATION_ROLES:
            readers = Organisation.objects.legal_entities().exclude(kind=Organisation.Kind.MUNICIPALITY)
            self.fields["organisation"].queryset = readers.order_by("name")  # type: ignore[attr-defined]
        else:
            del self.fields["organisation"]
        # A municipality admin manages one municipality: no choice to make.
        self.only_municipality = municipalities.first() if municipalities.count() == 1 else None
        if self.only_municipality is not None:
            self.fields["municipality"].widget = forms.HiddenInput()

    def clean_role(self) -> Role:
        return Role(self.cleaned_data["role"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        role = data.get("role")
        organisation = data.pop("organisation", None)
        if role in ORGANISATION_ROLES:
            if organisation is None:
                self.add_error("organisation", _("Choose the organisation the role is for."))
            data["municipality"] = organisation
        elif role in SERVICE_ROLES:
            data["municipality"] = None
        elif role in MUNICIPAL_ROLES and not data.get("municipality"):
            if self.only_municipality is None:
                self.add_error("municipality", _("Choose the municipality the role is for."))
            data["municipality"] = self.only_municipality
        return data


def municipalities_qs(orgnrs: frozenset[str] | None) -> QuerySet[Organisation]:
    """The municipalities a role form may offer: all (None) or the given ones."""
    qs = Organisation.objects.municipalities()
    return qs if orgnrs is None else qs.filter(orgnr__in=sorted(orgnrs))
