"""The EHR launch: `/launch/?iss=…&launch=…` → the EHR's authorization → `/launch/callback/` →
the HelseID login (unless one is alive) → a confirm page → the ordinary lookup.

The launch names the patient; the person still logs in with HelseID (level 4), confirms the
access basis (care relationship) and the reason (pre-filled from the encounter), and the lookup
is the clinician's usual one: the same decision, the same audit record, with the launch (system,
encounter) in its data. Anything wrong with a launch is refused with a Norwegian page and logged
(`launch.refused`). docs/ehr-launch.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from urllib.parse import urlencode

from django.contrib.auth import get_user
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.clinician.forms import PatientSearchForm
from portal.clinician.views import audited, open_lookup
from portal.login import actions as login_actions
from portal.login.acting import actor_for
from portal.login.models import Profile
from sharing.access.decision import BASIS_LABELS, Basis
from sharing.audit.actions import AuditUnavailable, record_event
from sharing.core.events import Event

from . import handoff, smart
from .forms import LaunchConfirmForm

logger = logging.getLogger(__name__)

PENDING = "launch.pending"  # state → {iss, verifier, at}: launches sent to the EHR's authorization
CONTEXTS = "launch.contexts"  # key → LaunchContext: launches waiting for the person to confirm
KEEP = 5  # at most this many of each per session (one per window the EHR opened)
PENDING_SECONDS = 10 * 60

REFUSALS = {
    "missing": _("The start from the patient record lacked the system (iss) or the launch it names."),
    "unknown-ehr": _("The patient record system that started Måledata is not registered with us."),
    "ehr-unavailable": _("We could not reach the patient record system. Try again from the patient record."),
    "launch-refused": _(
        "The patient record system did not accept the start: it was unknown, expired or already used. "
        "Start Måledata again from the patient record."
    ),
    "state": _(
        "This answer does not belong to a start made in this browser, or it has been used already. "
        "Start Måledata again from the patient record."
    ),
    "issuer": _("The answer came from another system than the one that started Måledata."),
    "token": _("The patient record system did not give us the patient. Start again from the patient record."),
    "no-patient": _("The patient record did not name a patient with a Norwegian national identity number."),
    "user-mismatch": _(
        "You are logged in to the patient record as another person than in Måledata. Log in to both "
        "as yourself and start again from the patient record."
    ),
    "user-unverified": _(
        "The patient record did not tell us who is logged in there, so we cannot check that it is you. "
        "Start Måledata again from the patient record, or look the patient up yourself."
    ),
}


def _refused(
    request: HttpRequest, refusal: smart.LaunchRefused, *, iss: str = "", launch: dict[str, str] | None = None
) -> HttpResponse:
    """Log the refusal (the access log, and the application log with the detail) and say why.
    `launch`: what is known of a launch refused after the EHR answered (its audit dict)."""
    logger.warning("EHR launch refused (%s) from %r: %s", refusal.code, iss[:200], refusal.detail)
    by = actor_for(request) if request.user.is_authenticated and hasattr(request.user, "helseid") else None
    try:
        record_event(
            event=Event.LAUNCH_REFUSED,
            outcome="denied",
            by=by,
            data={"launch": launch or {"iss": iss[:200]}, "refusal": refusal.code},
        )
    except AuditUnavailable:
        logger.error("EHR launch refusal could not be written to the access log")
    status = {"ehr-unavailable": 502, "user-mismatch": 403, "user-unverified": 403}.get(refusal.code, 400)
    message = REFUSALS.get(refusal.code, REFUSALS["state"])
    return render(request, "launch/refused.html", {"message": message}, status=status)


def _callback_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("launch-callback"))


def _newest(entries: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return dict(list(entries.items())[-(KEEP - 1) :])


@login_not_required
@require_GET
def launch(request: HttpRequest) -> HttpResponse:
    """The EHR opened us with `iss` and `launch`: ask that EHR (and only a registered one)."""
    iss, launch_id = request.GET.get("iss", ""), request.GET.get("launch", "")
    try:
        if not iss or not launch_id or len(launch_id) > 1000:
            raise smart.LaunchRefused("missing")
        ehr = smart.ehr_for(iss)
        config = smart.discover(ehr)
        url, state, verifier = smart.authorization_url(
            ehr, config, launch=launch_id, redirect_uri=_callback_uri(request)
        )
    except smart.LaunchRefused as refusal:
        return _refused(request, refusal, iss=iss)
    pending = _newest(request.session.get(PENDING, {}))
    pending[state] = {"iss": ehr.iss, "verifier": verifier, "at": timezone.now().isoformat()}
    request.session[PENDING] = pending
    return redirect(url)


@login_not_required
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """The EHR's answer: check it belongs to a launch of this browser, get the token and read the
    patient and the encounter; then the person confirms (after logging in, if need be)."""
    pending = request.session.get(PENDING, {})
    entry = pending.pop(request.GET.get("state", ""), None) if request.GET.get("state") else None
    request.session[PENDING] = pending
    iss = entry["iss"] if entry else request.GET.get("iss", "")
    try:
        if entry is None or timezone.now() - dt.datetime.fromisoformat(entry["at"]) > dt.timedelta(
            seconds=PENDING_SECONDS
        ):
            raise smart.LaunchRefused("state", "no launch of this session has this state")
        ehr = smart.ehr_for(entry["iss"])
        if request.GET.get("error"):
            raise smart.LaunchRefused(
                "launch-refused", f"{request.GET['error'][:100]}: {request.GET.get('error_description', '')[:300]}"
            )
        config = smart.discover(ehr)
        # RFC 9207: the answer names the authorization server we asked (mix-up defence).
        answered = request.GET.get("iss")
        if answered is not None and config.get("issuer") and answered != config["issuer"]:
            raise smart.LaunchRefused("issuer", f"answered by {answered[:200]!r}, asked {config['issuer']!r}")
        token = smart.exchange(
            ehr,
            config,
            code=request.GET.get("code", ""),
            verifier=entry["verifier"],
            redirect_uri=_callback_uri(request),
        )
        context = smart.read_context(ehr, token, user=smart.ehr_user(ehr, config, token))
    except smart.LaunchRefused as refusal:
        return _refused(request, refusal, iss=iss)
    key = secrets.token_urlsafe(12)
    contexts = _newest(request.session.get(CONTEXTS, {}))
    contexts[key] = context.as_session()
    request.session[CONTEXTS] = contexts
    return redirect("launch-confirm", key=key)


def _forget(request: HttpRequest, key: str) -> None:
    contexts = request.session.get(CONTEXTS, {})
    contexts.pop(key, None)
    request.session[CONTEXTS] = contexts


@login_not_required
@require_http_methods(["GET", "POST"])
@audited
def confirm(request: HttpRequest, key: str) -> HttpResponse:
    """The patient the EHR named, the basis and the reason from the encounter: confirm, and the
    patient is opened by the ordinary lookup. Without a HelseID login, log in first (HelseID's
    own session, if alive, answers without asking). The EHR's user must be the person logged in
    here (fødselsnummer, HPR number), else the launch is refused before the patient is shown."""
    stored = request.session.get(CONTEXTS, {}).get(key)
    if stored is None:
        return _refused(request, smart.LaunchRefused("state", "no launch waiting under this key"))
    if not request.user.is_authenticated:
        if request.headers.get("Sec-Fetch-Dest") == "iframe":
            # HelseID's pages refuse to be framed, and the frame keeps cookies of its own: log in
            # in a window of its own, which hands its login to this frame (handoff.py).
            login = f"{reverse('oidc_authentication_init')}?{urlencode({'next': reverse('launch-logged-in')})}"
            return render(request, "launch/log_in_first.html", {"login": login, "key": key})
        query = urlencode({"next": reverse("launch-confirm", kwargs={"key": key})})
        return redirect(f"{reverse('oidc_authentication_init')}?{query}")
    context = smart.LaunchContext(**stored)
    try:
        context.check_user(actor_for(request))
    except smart.LaunchRefused as refusal:
        _forget(request, key)
        return _refused(request, refusal, iss=context.iss, launch=context.audit())
    form = LaunchConfirmForm(request.POST or None, initial={"reason": context.reason or None})
    if request.method != "POST" or not form.is_valid():
        page = {"form": form, "launch": context, "basis": BASIS_LABELS[Basis.CARE]}
        return render(request, "launch/confirm.html", page, status=400 if form.is_bound else 200)
    _forget(request, key)
    reason = form.cleaned_data["reason"]
    search = PatientSearchForm(initial={"national_id": context.patient, "basis": Basis.CARE.value, "reason": reason})
    return open_lookup(
        request, search, patient=context.national_id, basis=Basis.CARE, reason=reason, launch=context.audit()
    )


@require_GET
def logged_in(request: HttpRequest) -> HttpResponse:
    """The window the EHR's frame opened for the login, now logged in: it offers its login to
    that frame (static/js/launch/handoff.js posts the code to it, to this origin only)."""
    # Its Cross-Origin-Opener-Policy lets the frame stay its opener (portal.security).
    return render(request, "launch/logged_in.html", {"code": handoff.offer(request)})


@login_not_required
@require_POST
def join(request: HttpRequest, key: str) -> HttpResponse:
    """The frame, waiting on launch `key`, takes the login its window offered; then the confirm page."""
    if key not in request.session.get(CONTEXTS, {}):
        return _refused(request, smart.LaunchRefused("state", "no launch waiting under this key"))
    own = request.session.session_key
    if not handoff.take(request, request.POST.get("code", ""), keep=(CONTEXTS, PENDING)):
        return _refused(request, smart.LaunchRefused("state", "the login handoff is used, expired or unknown"))
    joined = get_user(request)  # the window's person, now this session's (one site: already the same)
    if request.session.session_key != own and isinstance(profile := getattr(joined, "helseid", None), Profile):
        login_actions.session_joined(profile=profile, launch_key=key)
    return redirect("launch-confirm", key=key)
