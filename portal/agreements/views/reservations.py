"""Reservations (sperring): the municipality records that a patient objects to sharing, or lifts it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from sharing.access.permissions import Permission
from sharing.agreements import actions
from sharing.agreements.models import Reservation

from ..access import Admin, municipality_page, page_context, reservation_of
from ..forms import OptionalNoteForm, ReservationForm
from ..present import reservation_rows
from .common import form_status, run_action


@require_http_methods(["GET", "POST"])
@municipality_page(Permission.MANAGE_RESERVATIONS)
def reservation_list(request: HttpRequest, admin: Admin) -> HttpResponse:
    """The municipality's reservations, and the form that records a new one."""
    form = ReservationForm(request.POST or None, municipality=admin.municipality)
    recorded = run_action(
        form,
        lambda: actions.record_reservation(
            municipality=admin.municipality,
            patient_value=form.cleaned_data["patient"].value,
            objected_on=form.cleaned_data["objected_on"],
            consumers=form.cleaned_data["consumers"],
            note=form.cleaned_data["note"],
            by=admin.actor,
        ),
    )
    if recorded is not None:
        messages.success(request, _("The reservation is recorded and applies from now."))
        return redirect("agreements_admin:reservations")
    reservations = (
        Reservation.objects.filter(municipality=admin.municipality)
        .prefetch_related("consumers")
        .order_by("lifted_at", "-created_at")
    )
    rows = reservation_rows(list(reservations), admin.municipality.orgnr)
    context = page_context(admin, form=form, reservations=rows, lift_form=OptionalNoteForm())
    return render(request, "agreements/reservations.html", context, status=form_status(form))


@require_POST
@municipality_page(Permission.MANAGE_RESERVATIONS)
def reservation_lift(request: HttpRequest, admin: Admin, pk: int) -> HttpResponse:
    reservation = reservation_of(admin, pk)
    form = OptionalNoteForm(request.POST)
    if run_action(form, lambda: actions.lift_reservation(reservation=reservation, by=admin.actor, **form.cleaned_data)):
        messages.success(request, _("The reservation is lifted."))
    else:
        messages.error(request, " ".join(str(e) for e in form.non_field_errors()) or _("Nothing was changed."))
    return redirect("agreements_admin:reservations")
