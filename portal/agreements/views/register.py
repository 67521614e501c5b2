"""The processor's register, kept by the service admin: which system may send for which municipality,
and each municipality's data processing agreement. The same actions as the commands
(`authorise_sender`, `record_processing_agreement`), so the same rules and the same audit records."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from portal.fields import DayField
from sharing.access.permissions import Permission
from sharing.agreements.actions import (
    authorise_sender,
    end_processing_agreement,
    end_sender_authorisation,
    record_processing_agreement,
)
from sharing.agreements.models import Organisation, ProcessingAgreement, SenderAuthorisation
from sharing.core.actor import Actor

from ..access import service_page
from .common import run_action


def _municipality_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Municipality"),
        queryset=Organisation.objects.municipalities().order_by("name"),
        empty_label=_("Choose a municipality…"),
    )


class SenderForm(forms.Form):
    prefix = "sender"
    municipality = _municipality_field()
    client_id = forms.CharField(label=_("The system's HelseID client id"), max_length=200)
    client_name = forms.CharField(label=_("The system's name"), max_length=200, required=False)
    valid_from = DayField(label=_("Valid from"))
    valid_to = DayField(label=_("Valid to (empty: until further notice)"), required=False)
    instructed_by = forms.CharField(label=_("On whose instruction (person, letter, case number)"), max_length=300)


class ProcessingAgreementForm(forms.Form):
    prefix = "dpa"
    municipality = _municipality_field()
    reference = forms.CharField(
        label=_("Reference"), max_length=200, help_text=_("The same reference again changes that agreement.")
    )
    signed_on = DayField(label=_("Signed"))
    valid_from = DayField(label=_("Valid from"))
    valid_to = DayField(label=_("Valid to (empty: until further notice)"), required=False)
    contact = forms.CharField(label=_("Contact"), max_length=300, required=False)
    retention_months = forms.IntegerField(
        label=_("Retention (months after the patient's last measurement; empty: kept)"),
        required=False,
        min_value=1,
        max_value=1200,
    )


class EndForm(forms.Form):
    on = DayField(label=_("Last day"))


def _page(request: HttpRequest, sender: SenderForm, dpa: ProcessingAgreementForm, status: int = 200) -> HttpResponse:
    today = timezone.localdate()
    agreements = ProcessingAgreement.objects.select_related("municipality").order_by(
        "municipality__name", "-valid_from"
    )
    in_force = set(agreements.in_force(on=today).values_list("pk", flat=True))
    senders = SenderAuthorisation.objects.select_related("municipality").order_by("municipality__name", "client_id")
    sending = set(senders.in_force(on=today).values_list("pk", flat=True))
    context = {
        "sender_form": sender,
        "dpa_form": dpa,
        "agreements": [(a, a.pk in in_force) for a in agreements],
        "senders": [(s, s.pk in sending) for s in senders],
        "today": today,
    }
    return render(request, "agreements/register.html", context, status=status)


@require_GET
@service_page(Permission.MANAGE_PROCESSING_REGISTER)
def register(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _page(request, SenderForm(), ProcessingAgreementForm())


@require_POST
@service_page(Permission.MANAGE_PROCESSING_REGISTER)
def sender_authorise(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = SenderForm(request.POST)

    def save() -> Any:
        return authorise_sender(**form.cleaned_data, by=actor)

    if run_action(form, save) is None:
        return _page(request, form, ProcessingAgreementForm(), status=400)
    messages.success(request, _("The system may send for the municipality from the day given."))
    return redirect("agreements_admin:register")


@require_POST
@service_page(Permission.MANAGE_PROCESSING_REGISTER)
def agreement_record(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = ProcessingAgreementForm(request.POST)

    def save() -> Any:
        return record_processing_agreement(**form.cleaned_data, by=actor)

    if run_action(form, save) is None:
        return _page(request, SenderForm(), form, status=400)
    messages.success(request, _("The data processing agreement is recorded."))
    return redirect("agreements_admin:register")


def _end(request: HttpRequest, action: Any, done: str) -> HttpResponse:
    form = EndForm(request.POST)
    if run_action(form, lambda: action(form.cleaned_data["on"])) is not None:
        messages.success(request, done)
    else:
        errors = [str(e) for field in form.errors.values() for e in field]
        messages.error(request, " ".join(errors) or _("Nothing was changed."))
    return redirect("agreements_admin:register")


@require_POST
@service_page(Permission.MANAGE_PROCESSING_REGISTER)
def sender_end(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    row = get_object_or_404(SenderAuthorisation.objects.select_related("municipality"), pk=pk)
    action = lambda on: end_sender_authorisation(authorisation=row, on=on, by=actor)  # noqa: E731
    return _end(request, action, str(_("The authorisation ends on the day given.")))


@require_POST
@service_page(Permission.MANAGE_PROCESSING_REGISTER)
def agreement_end(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    row = get_object_or_404(ProcessingAgreement.objects.select_related("municipality"), pk=pk)
    action = lambda on: end_processing_agreement(agreement=row, on=on, by=actor)  # noqa: E731
    return _end(request, action, str(_("The data processing agreement ends on the day given.")))
