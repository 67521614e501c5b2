"""The clinician's pages: search, the patient overview, one kind's chart and table, CSV export.

Views parse, call one action in sharing.access.actions (which decides and logs before any
data comes back) and render. The national identity number travels only in POST bodies and
the session (portal.clinician.opened), never in a URL.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.login.acting import actor_for, roles_for
from portal.login.freshness import fresh_login_url, login_is_fresh
from portal.login.home import home_for
from sharing.access import actions
from sharing.access.decision import Basis, bases_offered
from sharing.core.actor import Role
from sharing.core.basis import ReasonCode
from sharing.core.kinds import Kind
from sharing.core.outage import retry_after
from sharing.identifiers import NationalId

from . import opened
from .export import export_response
from .forms import PatientSearchForm, PeriodForm, period_errors
from .pages import denied_page, journal_context, patient_context, series_context

P = ParamSpec("P")
KINDS = frozenset(k.value for k in Kind)


def audited(view: Callable[P, HttpResponse]) -> Callable[P, HttpResponse]:
    """No log, no data: when the audit record cannot be written, say so (503) and show nothing.

    Over the hourly lookup limit, the lookup is refused (429): logged, and queued for review."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            return view(*args, **kwargs)
        except actions.AuditUnavailable:
            request = args[0]
            assert isinstance(request, HttpRequest)  # noqa: S101 - views take the request first
            response = render(request, "clinician/audit_unavailable.html", status=503)
            response["Retry-After"] = retry_after()
            return response
        except actions.LookupRateLimited:
            request = args[0]
            assert isinstance(request, HttpRequest)  # noqa: S101 - views take the request first
            return render(request, "clinician/rate_limited.html", status=429)

    return wrapper


def with_opened(
    view: Callable[Concatenate[HttpRequest, opened.Opened, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, str, P], HttpResponse]:
    """Load the lookup behind the URL's key from this session (404 otherwise)."""

    @wraps(view)
    def wrapper(request: HttpRequest, key: str, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        return view(request, opened.find(request, key), *args, **kwargs)

    return wrapper


@require_http_methods(["GET", "POST"])
@audited
def search(request: HttpRequest) -> HttpResponse:
    """GET shows the search form and this session's patients; POST looks up (decided, logged).

    A person without the clinical role never sees it: GET sends them to their own role's home. A
    POST still goes to the decision, which refuses it with its own code and logs it."""
    if request.method == "GET" and Role.CLINICIAN not in roles_for(request.user.helseid):  # type: ignore[union-attr]
        home = home_for(request)
        return redirect(home) if home else render(request, "clinician/no_clinical_role.html", status=403)
    # A lookup that waited for a fresh login (emergency access) comes back filled in, never sent.
    pending = request.session.pop(PENDING_EMERGENCY, None) if request.method == "GET" else None
    form = PatientSearchForm(
        request.POST or None, initial=pending if isinstance(pending, dict) else None, bases=_bases(request)
    )
    if request.method != "POST" or not form.is_valid():
        context = {"form": form, "recent": opened.recent(request)}
        return render(request, "clinician/search.html", context, status=400 if form.is_bound else 200)
    data = form.cleaned_data
    if data["basis"] == Basis.EMERGENCY and (
        fresh := _emergency_login(request, data["national_id"], data["reason"], data["reason_code"])
    ):
        return fresh
    return open_lookup(
        request,
        form,
        patient=data["national_id"],
        basis=data["basis"],
        reason=data["reason"],
        reason_code=data["reason_code"],
    )


def _bases(request: HttpRequest) -> tuple[Basis, ...]:
    """The bases the search form offers: those the person's agreements allow (nothing about a patient)."""
    return bases_offered(actor_for(request), timezone.localdate())


PENDING_EMERGENCY = "clinician.pending_emergency"


def _emergency_login(
    request: HttpRequest, patient: NationalId, reason: str, reason_code: ReasonCode | None = None
) -> HttpResponse | None:
    """Emergency access needs a HelseID login no older than EMERGENCY_LOGIN_MAX_AGE_SECONDS: when
    it is older, the lookup is kept (not sent) and the person logs in again (prompt=login)."""
    if login_is_fresh(request):
        return None
    request.session[PENDING_EMERGENCY] = {
        "national_id": patient.value,
        "basis": Basis.EMERGENCY.value,
        "reason": reason,
        "reason_code": reason_code.value if reason_code else "",
    }
    return redirect(fresh_login_url(reverse("clinician:search")))


@require_POST
@audited
@with_opened
def reopen(request: HttpRequest, entry: opened.Opened) -> HttpResponse:
    """Open a recent patient again: a new lookup, decided and logged like a search.

    An emergency lookup is not reopened with its old reason: inside its window it needs none (the
    decision finds the window in the log); after the window it is a new emergency lookup, with a
    fresh login and a new reason, which the search form (filled in, reason empty) asks for."""
    if entry.access_basis != Basis.EMERGENCY:
        initial = {"basis": entry.basis, "reason": entry.reason, "reason_code": entry.reason_code}
        form = PatientSearchForm(initial=initial, bases=_bases(request))
        return open_lookup(
            request,
            form,
            patient=entry.national_id,
            basis=entry.access_basis,
            reason=entry.reason,
            reason_code=entry.access_reason_code,
        )
    if fresh := _emergency_login(request, entry.national_id, ""):
        return fresh
    form = PatientSearchForm(
        initial={"national_id": entry.national_id.value, "basis": Basis.EMERGENCY.value, "reason": ""},
        bases=_bases(request),
    )
    return open_lookup(request, form, patient=entry.national_id, basis=Basis.EMERGENCY, reason="")


def open_lookup(
    request: HttpRequest,
    form: PatientSearchForm,
    *,
    patient: NationalId,
    basis: Basis,
    reason: str,
    reason_code: ReasonCode | None = None,
    launch: dict[str, str] | None = None,
) -> HttpResponse:
    """The lookup (decided, logged) and, when granted, the patient page. `launch`: the EHR launch
    it came from (portal.launch), kept in its audit record and those of the page's views.
    `reason_code`: the quick pick chosen, kept in the lookup's record."""
    context = {"launch": launch} if launch else None
    access = actions.open_patient(
        by=actor_for(request), patient=patient, basis=basis, reason=reason, reason_code=reason_code, context=context
    )
    if access.result is None:
        page = {"form": form, "denied": access.decision, "recent": opened.recent(request)}
        return render(request, "clinician/search.html", page, status=403)
    found = access.result
    entry = opened.remember(
        request,
        patient=patient,
        basis=basis,
        reason=reason,
        name=found.patient_display,
        kinds=found.kinds,
        launch=launch,
        reason_code=reason_code,
    )
    return redirect("clinician:patient", key=entry.key)


@require_GET
@audited
@with_opened
def patient(request: HttpRequest, entry: opened.Opened) -> HttpResponse:
    """The overview: header, agreements, one card per kind. Decided and logged on every view."""
    access = actions.view_patient(
        by=actor_for(request),
        patient=entry.national_id,
        basis=entry.access_basis,
        reason=entry.view_reason,
        kinds=entry.kinds or None,
        context=entry.audit_context,
    )
    if access.result is None:
        return denied_page(request, entry, access.decision)
    return render(request, "clinician/patient.html", patient_context(entry, access.decision, access.result))


@require_GET
@audited
@with_opened
def series(request: HttpRequest, entry: opened.Opened, kind: str) -> HttpResponse:
    """One kind over a period: chart, exact table, export. Decided and logged on every view."""
    if kind not in KINDS:
        raise Http404
    period = PeriodForm(request.GET)
    start, end = period.window(timezone.now())
    access = actions.view_patient_series(
        by=actor_for(request),
        patient=entry.national_id,
        basis=entry.access_basis,
        reason=entry.view_reason,
        kind=kind,
        start=start,
        end=end,
        page=_page_number(request.GET.get("side")),
        context=entry.audit_context,
    )
    if access.result is None:
        return denied_page(request, entry, access.decision)
    context = series_context(entry, access.decision, access.result, period)
    # A period that cannot be used: the default period is shown, with the error beside the form.
    return render(request, "clinician/series.html", context, status=200 if period.is_valid() else 400)


def _page_number(text: str | None) -> int:
    """The table's page from ?side= (1 when absent or not a number; past the last shows the last)."""
    return int(text) if text and text.isdigit() and 0 < len(text) <= 6 else 1


@require_POST
@audited
@with_opened
def export(request: HttpRequest, entry: opened.Opened) -> HttpResponse:
    """A CSV file of what the clinician may see (one kind and period, or everything): patient.export."""
    kind = request.POST.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise Http404
    period = PeriodForm(request.POST)
    if kind and not period.is_valid():
        return _unusable_period(request, period, reverse("clinician:series", kwargs={"key": entry.key, "kind": kind}))
    start, end = period.window(timezone.now()) if kind else (None, None)
    access = actions.export_patient(
        by=actor_for(request),
        patient=entry.national_id,
        basis=entry.access_basis,
        reason=entry.view_reason,
        kind=kind,
        start=start,
        end=end,
        context=entry.audit_context,
    )
    if access.result is None:
        return denied_page(request, entry, access.decision)
    return export_response(access.result, patient=entry.national_id, name=entry.name, kind=kind, start=start, end=end)


@require_POST
@audited
@with_opened
def journal(request: HttpRequest, entry: opened.Opened) -> HttpResponse:
    """ "Kopier til journal": a plain-text note of one period, logged as its own patient.export."""
    period = PeriodForm(request.POST)
    if not period.is_valid():
        return _unusable_period(request, period, reverse("clinician:patient", args=[entry.key]))
    now = timezone.now()
    start, end = period.window(now)
    by = actor_for(request)
    access = actions.copy_to_journal(
        by=by,
        patient=entry.national_id,
        basis=entry.access_basis,
        reason=entry.view_reason,
        start=start,
        end=end,
        at=now,
        context=entry.audit_context,
    )
    if access.result is None:
        return denied_page(request, entry, access.decision)
    return render(request, "clinician/journal.html", journal_context(by, entry, access, period, now))


def _unusable_period(request: HttpRequest, period: PeriodForm, back: str) -> HttpResponse:
    """A period that cannot be used (export, journal note): 400 with the reasons, nothing read."""
    return render(request, "400.html", {"errors": period_errors(period), "back": back}, status=400)
