"""The service admin's pages: the organisations that read, their units, and each one's admin.

The service admin (system admin, acting for the operator) registers hospitals, GP offices and
other reading organisations and their units, and appoints or removes each organisation's admin,
who then manages the organisation's own members (portal/login/members.py). Every change is an
audited action (sharing.agreements.actions, sharing.access.members); anyone else gets 403.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.fields import DayField
from portal.login.acting import actor_for
from portal.login.people import PersonField, PersonForm, with_names
from sharing.access import members
from sharing.access.models import Membership
from sharing.access.people import masked
from sharing.access.permissions import Permission, can
from sharing.agreements.actions import CONSUMER_KINDS, register_consumer, register_unit
from sharing.agreements.models import Organisation
from sharing.core.actor import Actor

from ..access import forbidden
from .common import run_action


class OrganisationForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=200, help_text=_("As in the Central Coordinating Register (Enhetsregisteret).")
    )
    orgnr = forms.CharField(
        label=_("Organisation number"), max_length=11, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[(k.value, k.label) for k in CONSUMER_KINDS])


class UnitForm(forms.Form):
    name = forms.CharField(label=_("Name of the unit"), max_length=200)
    orgnr = forms.CharField(
        label=_("Organisation number of the unit"),
        max_length=11,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=_("The unit's own number (underenhet), as HelseID's orgnr_child names it."),
    )


class AdminForm(PersonForm):
    person = PersonField(require_pid=True, label=_("National ID or HPR number"))
    valid_from = DayField(label=_("From"))


def _service_admin(request: HttpRequest) -> Actor | None:
    actor = actor_for(request)
    return actor if can(actor, Permission.MANAGE_ORGANISATIONS) else None


@require_http_methods(["GET", "POST"])
def organisation_list(request: HttpRequest) -> HttpResponse:
    actor = _service_admin(request)
    if actor is None:
        return forbidden(request)
    form = OrganisationForm(request.POST or None)
    org = run_action(form, lambda: register_consumer(by=actor, **form.cleaned_data)) if form.is_bound else None
    if org is not None:
        messages.success(request, _("%(name)s is registered. Appoint its admin below.") % {"name": org.name})
        return redirect("service:organisation", orgnr=org.orgnr)
    today = timezone.localdate()
    rows = (
        Organisation.objects.legal_entities()
        .exclude(kind=Organisation.Kind.MUNICIPALITY)
        .annotate(
            unit_count=Count("units", distinct=True),
            admin_count=Count(
                "memberships",
                filter=Q(memberships__is_admin=True, memberships__ended_at__isnull=True)
                & (Q(memberships__valid_to__isnull=True) | Q(memberships__valid_to__gte=today)),
                distinct=True,
            ),
        )
        .order_by("name")
    )
    return render(
        request, "agreements/organisations.html", {"rows": rows, "form": form}, status=400 if form.is_bound else 200
    )


def _consumer(orgnr: str) -> Organisation:
    """A reading organisation (legal entity, not a municipality), or 404."""
    return get_object_or_404(
        Organisation.objects.legal_entities().exclude(kind=Organisation.Kind.MUNICIPALITY), orgnr=orgnr
    )


@require_http_methods(["GET", "POST"])
def organisation_detail(request: HttpRequest, orgnr: str) -> HttpResponse:
    actor = _service_admin(request)
    if actor is None:
        return forbidden(request)
    organisation = _consumer(orgnr)
    which = request.POST.get("form") if request.method == "POST" else None
    unit_form = UnitForm(request.POST if which == "unit" else None, prefix="unit")
    admin_form = AdminForm(
        request.POST if which == "admin" else None, prefix="admin", initial={"valid_from": timezone.localdate()}
    )
    status = 400 if request.method == "POST" else 200
    if which == "unit":
        unit = run_action(unit_form, lambda: register_unit(parent=organisation, by=actor, **unit_form.cleaned_data))
        if unit is not None:
            messages.success(request, _("The unit %(name)s is registered.") % {"name": unit.name})
            return redirect("service:organisation", orgnr=orgnr)
    elif which == "admin" and admin_form.ready:
        data = admin_form.cleaned_data
        appointed = run_action(
            admin_form,
            lambda: members.appoint_admin(
                organisation=organisation, pid=data["person"].pid, valid_from=data["valid_from"], by=actor
            ),
        )
        if appointed is not None:
            who = appointed.name or masked(appointed.pid)
            messages.success(request, _("%(name)s is now admin of %(org)s.") % {"name": who, "org": organisation.name})
            return redirect("service:organisation", orgnr=orgnr)
    elif which == "admin" and admin_form.found is not None:
        status = 200  # valid, not confirmed yet: the page shows whom the number names
    admins = with_names(Membership.objects.live().filter(organisation=organisation, is_admin=True))
    context = {
        "organisation": organisation,
        "units": organisation.units.order_by("name"),
        "admins": admins,
        "unit_form": unit_form,
        "form": admin_form,
    }
    return render(request, "agreements/organisation.html", context, status=status)


@require_POST
def admin_remove(request: HttpRequest, orgnr: str, pk: int) -> HttpResponse:
    actor = _service_admin(request)
    if actor is None:
        return forbidden(request)
    organisation = _consumer(orgnr)
    row = get_object_or_404(Membership.objects.live(), pk=pk, organisation=organisation, is_admin=True)
    members.remove_admin(membership=row, by=actor)
    messages.success(request, _("The admin appointment has ended."))
    return redirect("service:organisation", orgnr=orgnr)
