"""Identity changes: the municipality admin links a D-number or FHN to the fødselsnummer that replaced it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from sharing.access.permissions import Permission
from sharing.identifiers import NationalId
from sharing.measurements.identity import link_identity, links_of, parse_identifier

from ..access import Admin, municipality_page, page_context
from .common import form_status, run_action

_NUMBER = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})


class IdentityLinkForm(forms.Form):
    old = forms.CharField(
        label=_("D number or common auxiliary number (the old number)"), max_length=100, widget=_NUMBER
    )
    new = forms.CharField(label=_("National identity number (the new number)"), max_length=100, widget=_NUMBER)
    instruction = forms.CharField(
        label=_("The municipality's instruction (who asked, case number)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
    )

    def _number(self, name: str) -> NationalId:
        try:
            return parse_identifier(self.cleaned_data[name])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None

    def clean_old(self) -> NationalId:
        return self._number("old")

    def clean_new(self) -> NationalId:
        return self._number("new")


@require_http_methods(["GET", "POST"])
@municipality_page(Permission.LINK_IDENTITIES)
def identity_links(request: HttpRequest, admin: Admin) -> HttpResponse:
    form = IdentityLinkForm(request.POST or None)
    orgnr = admin.municipality.orgnr

    def link() -> Any:
        data = form.cleaned_data
        return link_identity(
            old=data["old"], new=data["new"], municipality=orgnr, instruction=data["instruction"], by=admin.actor
        )

    if run_action(form, link) is not None:
        messages.success(request, _("The numbers are linked: the patient's history is shown under either number."))
        return redirect("agreements_admin:identities")
    context = page_context(admin, form=form, links=links_of(orgnr))
    return render(request, "agreements/identities.html", context, status=form_status(form))
