from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.login.acting import actor_for
from sharing.access.actions import AuditUnavailable, look_up_patient

from .forms import PatientSearchForm


def search(request: HttpRequest) -> HttpResponse:
    """GET shows the search form; POST looks the patient up (decided and logged) and shows the result."""
    form = PatientSearchForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "clinician/search.html", {"form": form}, status=400 if form.is_bound else 200)
    try:
        lookup = look_up_patient(
            by=actor_for(request),
            patient=form.cleaned_data["national_id"],
            basis=form.cleaned_data["basis"],
            reason=form.cleaned_data["reason"],
        )
    except AuditUnavailable:
        return render(request, "clinician/audit_unavailable.html", status=503)
    if not lookup.decision.granted:
        return render(request, "clinician/search.html", {"form": form, "denied": lookup.decision}, status=403)
    return render(request, "clinician/patient.html", {"lookup": lookup})
