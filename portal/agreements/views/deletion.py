"""Deleting one patient's data on the municipality's instruction: one admin asks, another confirms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from sharing.access.names import names_sent_by
from sharing.access.people import masked
from sharing.access.permissions import Permission
from sharing.identifiers import NationalId
from sharing.measurements.deletion import confirm_deletion, deletion_of, deletions_of, request_deletion

from ..access import Admin, municipality_page, page_context
from ..forms import _national_id
from .common import form_status, run_action


class DeletionForm(forms.Form):
    patient = forms.CharField(
        label=_("Patient's national identity number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    instruction = forms.CharField(
        label=_("The municipality's instruction (who asked, case number)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
    )

    def clean_patient(self) -> NationalId:
        return _national_id(self.cleaned_data["patient"])


class ConfirmForm(forms.Form):
    """The second admin types the patient's number from the municipality's instruction: the list
    shows it masked (docs/audit.md, "Identifiers in lists"), so the confirmation is a check made
    against the instruction, not a click on a number someone else typed."""

    patient = forms.CharField(
        label=_("The patient's national identity number, from the instruction"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, expected: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected

    def clean_patient(self) -> NationalId:
        patient = _national_id(self.cleaned_data["patient"])
        if patient.value != self.expected:
            raise forms.ValidationError(
                _("The number does not match the deletion asked for. Check it against the instruction.")
            )
        return patient


@dataclass(frozen=True)
class DeletionRow:
    """A deletion as the list shows it: the number masked, and the name the municipality's own
    system sent for the patient ("" if none)."""

    deletion: Any  # sharing.measurements.models.PatientDeletion (the portal reads it through deletion.py)
    patient: str
    name: str


def _rows(orgnr: str) -> list[DeletionRow]:
    deletions = list(deletions_of(orgnr))
    names = names_sent_by(municipality=orgnr, patients=(d.patient_value for d in deletions))
    return [DeletionRow(d, masked(d.patient_value), names.get(d.patient_value, "")) for d in deletions]


@require_http_methods(["GET", "POST"])
@municipality_page(Permission.DELETE_PATIENT_DATA)
def deletion_list(request: HttpRequest, admin: Admin) -> HttpResponse:
    form = DeletionForm(request.POST or None)
    orgnr = admin.municipality.orgnr

    def ask() -> Any:
        patient = form.cleaned_data["patient"]
        instruction = form.cleaned_data["instruction"]
        return request_deletion(
            municipality=orgnr,
            patient_system=patient.system,
            patient_value=patient.value,
            instruction=instruction,
            by=admin.actor,
        )

    if run_action(form, ask) is not None:
        messages.success(request, _("The deletion is recorded. Another administrator must confirm it."))
        return redirect("agreements_admin:deletions")
    context = page_context(admin, form=form, deletions=_rows(orgnr), me=admin.actor.pid)
    return render(request, "agreements/deletions.html", context, status=form_status(form))


@require_POST
@municipality_page(Permission.DELETE_PATIENT_DATA)
def deletion_confirm(request: HttpRequest, admin: Admin, pk: int) -> HttpResponse:
    deletion = deletion_of(admin.municipality.orgnr, pk)
    if deletion is None:
        raise Http404
    form = ConfirmForm(request.POST, expected=deletion.patient_value)
    done = run_action(
        form, lambda: confirm_deletion(deletion=deletion, municipality=admin.municipality.orgnr, by=admin.actor)
    )
    if done is not None:
        messages.success(request, _("The patient's data is deleted."))
    else:
        errors = [str(e) for e in form.non_field_errors()] + [str(e) for e in form.errors.get("patient", [])]
        messages.error(request, " ".join(errors) or _("Nothing was changed."))
    return redirect("agreements_admin:deletions")
