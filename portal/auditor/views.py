"""The auditor's pages: the log search, the review queue and the patient's access report.

Each view parses, calls one audited read or action in `sharing.audit`, and renders. The log's
filters are a GET, so a filtered view can be linked and bookmarked (`?patient=` included, issue 22);
the patient's access report is still POSTed, its number kept out of URLs.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from portal.csvfile import csv_response
from sharing.access.actions import AuditUnavailable
from sharing.access.auditlog import (
    PatientAccessReport,
    find_review_items,
    patient_access_report,
    review_items,
    search_log,
)
from sharing.access.permissions import reviewer_scope
from sharing.agreements.models import Organisation
from sharing.audit.actions import mark_many_reviewed
from sharing.audit.presenters import agreement_parties, group_views, present, present_for_patient

from .access import Auditor, auditor_page, page_context, unavailable
from .forms import AuditFilterForm, PatientReportForm, QueueFilterForm, ReviewForm, with_default_period


@require_http_methods(["GET", "POST"])
@auditor_page
def log(request: HttpRequest, auditor: Auditor) -> HttpResponse:
    """The events matching the filters in the query string (one page); a POST is sent to its GET."""
    if request.method == "POST":
        query = request.POST.copy()
        query.pop("csrfmiddlewaretoken", None)
        return redirect(f"{request.path}?{query.urlencode()}")
    form = AuditFilterForm(with_default_period(request.GET))
    if not form.is_valid():
        return render(request, "auditor/log.html", page_context(auditor, tab="log", form=form), status=400)
    try:
        result = search_log(by=auditor.actor, scope=auditor.scope, criteria=form.criteria(), page=form.page_number())
    except AuditUnavailable:
        return unavailable(request)
    organisations = Organisation.objects.names(agreement_parties(result.rows))
    rows = group_views(
        [present(record, result.names.get(record.patient_value, ""), organisations) for record in result.rows]
    )
    return render(request, "auditor/log.html", page_context(auditor, tab="log", form=form, result=result, rows=rows))


@require_http_methods(["GET"])
@auditor_page
def review(request: HttpRequest, auditor: Auditor) -> HttpResponse:
    """The worklist: the queue's items matching the filters in the query string (issue 22)."""
    filters = QueueFilterForm(request.GET or None)
    if filters.is_bound and not filters.is_valid():
        context = page_context(auditor, tab="review", filters=filters, items=[], open_count=0)
        return render(request, "auditor/review.html", context, status=400)
    try:
        items = review_items(by=auditor.actor, scope=auditor.scope, criteria=filters.criteria())
    except AuditUnavailable:
        return unavailable(request)
    open_count = sum(1 for item in items if item.review is None)
    context = page_context(auditor, tab="review", filters=filters, items=items, open_count=open_count)
    return render(request, "auditor/review.html", context)


@require_POST
@auditor_page
def mark(request: HttpRequest, auditor: Auditor) -> HttpResponse:
    """Sign off the chosen queue items with one comment: 404 if any of them is outside the
    reviewer's queue, existing or not, and then none is marked."""
    scope = reviewer_scope(auditor.actor)
    if scope is None:
        return render(request, "auditor/forbidden.html", status=403)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the items and write a comment to mark them reviewed."))
        return redirect("auditor:review")
    items = find_review_items(scope, form.cleaned_data["key"])
    if items is None:
        raise Http404
    mark_many_reviewed(items=items, scope=scope, comment=form.cleaned_data["comment"], by=auditor.actor)
    count = len(items)
    messages.success(
        request,
        ngettext("%(count)d item marked as reviewed.", "%(count)d items marked as reviewed.", count) % {"count": count},
    )
    back = form.back_query()
    return redirect(f"{reverse('auditor:review')}?{back}" if back else reverse("auditor:review"))


@require_http_methods(["GET", "POST"])
@auditor_page
def report(request: HttpRequest, auditor: Auditor) -> HttpResponse:
    """The patient's access report (innsyn i logg): a printable page, or the same rows as CSV."""
    form = PatientReportForm(request.POST or None)
    if not form.is_bound or not form.is_valid():
        context = page_context(auditor, tab="report", form=form)
        return render(request, "auditor/report_form.html", context, status=400 if form.is_bound else 200)
    fmt = form.cleaned_data["format"]
    try:
        made = patient_access_report(
            by=auditor.actor, scope=auditor.scope, patient=form.cleaned_data["patient"], fmt=fmt
        )
    except AuditUnavailable:
        return unavailable(request)
    if fmt == "csv":
        return _csv(made)
    rows = [present_for_patient(record) for record in made.records]
    return render(request, "auditor/report.html", page_context(auditor, tab="report", report=made, rows=rows))


CSV_HEADER = (
    gettext_lazy("Time"),
    gettext_lazy("Who"),
    gettext_lazy("Role"),
    gettext_lazy("Organisation"),
    gettext_lazy("What"),
    gettext_lazy("Basis"),
    gettext_lazy("Reason given"),
    gettext_lazy("Result"),
)


def _csv(made: PatientAccessReport) -> HttpResponse:
    rows = [present_for_patient(record) for record in made.records]
    lines = [
        [
            f"{row.occurred_at:%d.%m.%Y %H:%M}",
            row.who,
            row.role,
            row.organisation,
            row.what,
            row.basis,
            row.reason,
            row.result,
        ]
        for row in rows
    ]
    return csv_response(filename=f"tilgangslogg-{made.made_at:%Y%m%d}.csv", rows=[[str(t) for t in CSV_HEADER], *lines])
