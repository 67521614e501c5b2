from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sharing.access.decision import BASIS_LABELS, Basis
from sharing.identifiers import IdKind, InvalidIdentifier, NationalId, parse_national_id


class PatientSearchForm(forms.Form):
    national_id = forms.CharField(
        label=_("National identity number"),
        help_text=_("Fødselsnummer, D-number or felles hjelpenummer (11 digits)."),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True}),
    )
    basis = forms.ChoiceField(
        label=_("Access basis"), choices=[(b.value, BASIS_LABELS[b]) for b in Basis], initial=Basis.CARE.value
    )
    reason = forms.CharField(
        label=_("Reason"),
        help_text=_("Why you need to see this patient's measurements. It is logged and the patient can read it."),
        max_length=500,
        initial=_("Patient under treatment here"),
    )

    def clean_national_id(self) -> NationalId:
        try:
            nid = parse_national_id(self.cleaned_data["national_id"])
        except InvalidIdentifier as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from exc
        if nid.kind == IdKind.HNR:
            raise forms.ValidationError(_("H-numbers are internal to one organisation and cannot be looked up here."))
        return nid

    def clean_basis(self) -> Basis:
        return Basis(self.cleaned_data["basis"])
