"""Data quality: the warnings ingest stored with the municipality's measurements, per sender, so
those who run the integration can fix it (issue 17). No patient data, so no access-log record."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.clinician.present import FLAG_LABELS, kind_name
from sharing.access.permissions import Permission
from sharing.measurements.quality import ingest_quality as read_quality

from ..access import Admin, municipality_page, page_context

DAYS = 30


@require_GET
@municipality_page(Permission.VIEW_INGEST_QUALITY)
def ingest_quality(request: HttpRequest, admin: Admin) -> HttpResponse:
    since = timezone.now() - dt.timedelta(days=DAYS)
    senders = read_quality(municipality=admin.municipality.orgnr, since=since)
    rows = [
        (
            sender,
            [(f, str(FLAG_LABELS.get(f.flag, (f.flag, ""))[0]), kind_name(f.example.kind)) for f in sender.flags],
        )
        for sender in senders
    ]
    return render(request, "agreements/quality.html", page_context(admin, senders=rows, days=DAYS, since=since))
