"""The organisation admin's own pages: who may act for the organisation, and for which units.

Only a person registered as admin of the organisation they act for now (a Membership with
is_admin, appointed by the service admin) reaches them; anyone else gets 403. Every change goes
through sharing.access.members (audited).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.fields import DayField
from sharing.access import members
from sharing.access.models import Membership
from sharing.agreements.models import Organisation

from .acting import actor_for
from .people import PersonForm, with_names


class MemberForm(PersonForm):
    unit = forms.ChoiceField(label=_("Unit"), required=False)
    valid_from = DayField(label=_("From"))
    valid_to = DayField(label=_("To (optional)"), required=False)

    def __init__(self, *args: Any, units: list[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("The whole organisation"))] + [  # type: ignore[attr-defined]
            (unit.orgnr, f"{unit.name} ({unit.orgnr})") for unit in units
        ]


def _administered(request: HttpRequest) -> Organisation | None:
    profile = request.user.helseid  # type: ignore[union-attr]
    return members.admin_of(pid=profile.pid, orgnr_parent=profile.orgnr_parent, on=timezone.localdate())


@require_http_methods(["GET", "POST"])
def member_list(request: HttpRequest) -> HttpResponse:
    organisation = _administered(request)
    if organisation is None:
        return render(request, "login/members_forbidden.html", status=403)
    units = list(organisation.units.order_by("name"))
    form = MemberForm(request.POST or None, units=units, initial={"valid_from": timezone.localdate()})
    status = 200
    if request.method == "POST":
        if form.ready:
            data = form.cleaned_data
            unit = next((u for u in units if u.orgnr == data["unit"]), None)
            try:
                members.add_member(
                    organisation=organisation,
                    unit=unit,
                    pid=data["person"].pid,
                    hpr_number=data["person"].hpr_number,
                    valid_from=data["valid_from"],
                    valid_to=data["valid_to"],
                    by=actor_for(request),
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                return HttpResponseRedirect(reverse("members"))
        # Valid but not yet confirmed: the page shows whom the number names (200).
        status = 200 if form.found is not None and not form.errors else 400
    rows = with_names(
        Membership.objects.live()
        .filter(organisation=organisation)
        .select_related("unit")
        .order_by("name", "unit__name")
    )
    context = {"organisation": organisation, "rows": rows, "form": form}
    return render(request, "login/members.html", context, status=status)


@require_POST
def member_end(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = _administered(request)
    if organisation is None:
        return render(request, "login/members_forbidden.html", status=403)
    # Admins are appointed and removed by the service admin, not by each other.
    row = Membership.objects.live().filter(pk=pk, organisation=organisation, is_admin=False).first()
    if row is None:
        raise Http404
    members.end_member(membership=row, by=actor_for(request))
    return HttpResponseRedirect(reverse("members"))
