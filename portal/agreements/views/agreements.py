"""The municipality admin's agreement pages: list, create, edit or amend, and the status changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from sharing.access.permissions import Permission
from sharing.agreements import actions
from sharing.agreements.models import Agreement
from sharing.core.actor import Actor

from ..access import Admin, agreement_of, municipality_page, page_context
from ..forms import ActivateForm, AgreementForm, AmendForm, NoteForm, OptionalNoteForm
from ..present import history, present
from .common import form_status, run_action


@municipality_page(Permission.VIEW_AGREEMENTS)
def agreement_list(request: HttpRequest, admin: Admin) -> HttpResponse:
    today = timezone.localdate()
    agreements = Agreement.objects.of_controller(admin.municipality.orgnr).select_related("consumer")
    rows = [present(agreement, today) for agreement in agreements.prefetch_related("units")]
    context = page_context(
        admin,
        rows=rows,
        expiring=[row for row in rows if row.expiring],
        warning_days=settings.AGREEMENT_EXPIRY_WARNING_DAYS,
        can_manage=admin.can(Permission.MANAGE_AGREEMENTS),
    )
    return render(request, "agreements/agreement_list.html", context)


@municipality_page(Permission.VIEW_AGREEMENTS)
def agreement_detail(request: HttpRequest, admin: Admin, pk: int) -> HttpResponse:
    agreement = agreement_of(admin, pk)
    context = page_context(
        admin,
        view=present(agreement, timezone.localdate()),
        units=list(agreement.units.all()),
        history=history(list(agreement.revisions.all())),
        can_manage=admin.can(Permission.MANAGE_AGREEMENTS),
    )
    return render(request, "agreements/agreement_detail.html", context)


@require_http_methods(["GET", "POST"])
@municipality_page(Permission.MANAGE_AGREEMENTS)
def agreement_create(request: HttpRequest, admin: Admin) -> HttpResponse:
    form = AgreementForm(request.POST or None, municipality=admin.municipality)
    created = run_action(
        form, lambda: actions.create_draft(controller=admin.municipality, terms=form.terms(), by=admin.actor)
    )
    if created is not None:
        messages.success(request, _("The draft is saved. It gives no access until it is signed and activated."))
        return redirect("agreements_admin:detail", pk=created.pk)
    return render(request, "agreements/agreement_form.html", page_context(admin, form=form), status=form_status(form))


@require_http_methods(["GET", "POST"])
@municipality_page(Permission.MANAGE_AGREEMENTS)
def agreement_edit(request: HttpRequest, admin: Admin, pk: int) -> HttpResponse:
    """A draft is edited freely; a signed agreement is amended, with a note, keeping its history."""
    agreement = agreement_of(admin, pk)
    form_class = AgreementForm if agreement.is_draft else AmendForm
    form = form_class(request.POST or None, municipality=admin.municipality, agreement=agreement)
    if run_action(form, lambda: _save_terms(agreement, form, admin.actor)) is not None:
        messages.success(request, _("The agreement is saved."))
        return redirect("agreements_admin:detail", pk=agreement.pk)
    context = page_context(admin, form=form, agreement=agreement, view=present(agreement, timezone.localdate()))
    return render(request, "agreements/agreement_form.html", context, status=form_status(form))


def _save_terms(agreement: Agreement, form: AgreementForm, by: Actor) -> Agreement:
    if isinstance(form, AmendForm):
        return actions.amend_agreement(agreement=agreement, terms=form.terms(), note=form.cleaned_data["note"], by=by)
    return actions.update_draft(agreement=agreement, terms=form.terms(), by=by)


# step: (form, action, page title, button, confirmation message)
STEPS: dict[str, tuple[type[forms.Form], Callable[..., Agreement], Any, Any, Any]] = {
    "activate": (
        ActivateForm,
        actions.activate_agreement,
        _("Sign and activate"),
        _("Activate agreement"),
        _("The agreement is active. Clinicians covered by it get access from its first day."),
    ),
    "suspend": (
        NoteForm,
        actions.suspend_agreement,
        _("Suspend agreement"),
        _("Suspend"),
        _("The agreement is suspended. No one gets access under it until it is resumed."),
    ),
    "resume": (
        OptionalNoteForm,
        actions.resume_agreement,
        _("Resume agreement"),
        _("Resume"),
        _("The agreement is in force again."),
    ),
    "terminate": (
        NoteForm,
        actions.terminate_agreement,
        _("Terminate agreement"),
        _("Terminate for good"),
        _("The agreement is terminated. Access under it ended at once."),
    ),
}


@require_http_methods(["GET", "POST"])
@municipality_page(Permission.MANAGE_AGREEMENTS)
def agreement_step(request: HttpRequest, admin: Admin, pk: int, step: str) -> HttpResponse:
    """Activate, suspend, resume or terminate: a short form, then the audited action."""
    agreement = agreement_of(admin, pk)
    form_class, action, title, button, done = STEPS[step]
    form = form_class(request.POST or None)
    if run_action(form, lambda: action(agreement=agreement, by=admin.actor, **form.cleaned_data)) is not None:
        messages.success(request, done)
        return redirect("agreements_admin:detail", pk=agreement.pk)
    view = present(agreement, timezone.localdate())
    context = page_context(admin, form=form, view=view, step=step, title=title, button=button)
    return render(request, "agreements/agreement_step.html", context, status=form_status(form))
