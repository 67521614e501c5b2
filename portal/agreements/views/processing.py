"""The municipality's data processing agreements with this service and the systems authorised to
send its measurements (issue 18): kept by the service admin, shown here to the municipality's
admins and auditors. No patient data, so no access-log record."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from sharing.access.permissions import Permission
from sharing.agreements.models import ProcessingAgreement, SenderAuthorisation

from ..access import Admin, municipality_page, page_context


@require_GET
@municipality_page(Permission.VIEW_AGREEMENTS)
def processing(request: HttpRequest, admin: Admin) -> HttpResponse:
    today = timezone.localdate()
    agreements = ProcessingAgreement.objects.filter(municipality=admin.municipality)
    in_force = set(agreements.in_force(on=today).values_list("pk", flat=True))
    senders = SenderAuthorisation.objects.filter(municipality=admin.municipality)
    sending = set(senders.in_force(on=today).values_list("pk", flat=True))
    return render(
        request,
        "agreements/processing.html",
        page_context(
            admin,
            agreements=[(a, a.pk in in_force) for a in agreements],
            senders=[(s, s.pk in sending) for s in senders],
        ),
    )
