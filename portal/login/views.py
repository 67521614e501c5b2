"""Login through HelseID: the public login page, PAR-based authorization request, callback, unit
choice, fresh login for sensitive steps, and logout (here and at HelseID)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from sharing import oidc
from sharing.audit.actions import record_event

from . import helseid, organisations, sessions, units
from . import logout as backchannel
from .acting import actor_for
from .actions import end_login_sessions
from .backend import (
    CLAIMS_REQUEST_ATTRIBUTE,
    FRESH_SINCE_REQUEST_ATTRIBUTE,
    REFRESH_TOKEN_SESSION_KEY,
    REFUSAL_SESSION_KEY,
    auth_time,
    refuse,
)
from .forms import UnitForm

logger = logging.getLogger(__name__)


@login_not_required
def login_page(request: HttpRequest) -> HttpResponse:
    context = {
        "next": request.GET.get("next", ""),
        "ended": request.session.pop(sessions.ENDED_REASON, ""),
        "idle_minutes": settings.SESSION_IDLE_SECONDS // 60,
        "lifetime_hours": settings.SESSION_ABSOLUTE_SECONDS // 3600,
    }
    return render(request, "login/login.html", context)


@login_not_required
def refused(request: HttpRequest) -> HttpResponse:
    refusal = request.session.pop(REFUSAL_SESSION_KEY, None) or {}
    return render(request, "login/refused.html", {"refusal": refusal}, status=403)


def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.warning("Login unavailable: %s", exc)
    return render(request, "login/unavailable.html", status=503)


def _safe_next(request: HttpRequest, url: str, default: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if url and allowed else default


@method_decorator(login_not_required, name="dispatch")
class AuthenticationRequest(OIDCAuthenticationRequestView):
    """Build the request as mozilla-django-oidc does (state, nonce, PKCE S256), then push it (PAR)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_OP_AUTH_ENDPOINT = ""

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        return {"acr_values": settings.OIDC_ACR_VALUES} if settings.OIDC_ACR_VALUES else {}

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc.discovery()["authorization_endpoint"]
            redirect = super().get(request)
            params = dict(parse_qsl(urlsplit(redirect["Location"]).query))
            request_uri = helseid.push_authorization_request(params)
        except ImproperlyConfigured as exc:
            logger.error("HelseID client is misconfigured: %s", exc)
            return _unavailable(request, exc)
        except (requests.RequestException, helseid.PushedAuthorizationFailed, KeyError, ValueError) as exc:
            return _unavailable(request, exc)
        self.remember(request, params["state"])
        query = urlencode({"client_id": settings.OIDC_RP_CLIENT_ID, "request_uri": request_uri})
        return HttpResponseRedirect(f"{self.OIDC_OP_AUTH_ENDPOINT}?{query}")

    def remember(self, request: HttpRequest, state: str) -> None:
        """Hook: keep more about this login attempt beside its state, nonce and code verifier."""


class FreshAuthenticationRequest(AuthenticationRequest):
    """A new login at HelseID even when its session is alive (prompt=login); the callback then
    insists on an auth_time from after this request."""

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        params = {**super().get_extra_params(request), "prompt": "login"}
        # The organisation acted for now, asked for again in PAR (HelseID's authorization_details),
        # so the new login's tokens assert it too.
        profile = getattr(request.user, "helseid", None)
        if profile is not None and profile.orgnr_parent:
            child = units.acting_orgnr_child(request, profile)
            params["authorization_details"] = json.dumps(helseid.authorization_details(profile.orgnr_parent, child))
        return params

    def remember(self, request: HttpRequest, state: str) -> None:
        request.session["oidc_states"][state]["fresh_since"] = int(time.time())
        request.session.modified = True


@method_decorator(login_not_required, name="dispatch")
class AuthenticationCallback(OIDCAuthenticationCallbackView):
    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            metadata = oidc.discovery()
        except (requests.RequestException, KeyError, ValueError) as exc:
            return _unavailable(request, exc)
        failure = self.precheck(request, metadata)
        if failure:
            # A state is good for one answer, whatever the answer was.
            if request.session.get("oidc_states", {}).pop(request.GET.get("state", ""), None) is not None:
                request.session.modified = True
            refuse(request, failure)
            return self.login_failure()
        try:
            return super().get(request)
        except SuspiciousOperation as exc:  # ID token signature, issuer, audience, nonce, auth_time
            logger.warning("Login refused: %s", exc)
        except requests.HTTPError as exc:  # the token endpoint refused: used or expired code, client auth
            logger.warning("Token request refused: %s", exc)
        except (requests.RequestException, ValueError) as exc:
            return _unavailable(request, exc)
        refuse(request, "failed")
        return self.login_failure()

    @staticmethod
    def precheck(request: HttpRequest, metadata: dict[str, Any]) -> str:
        """What is wrong with the authorization response before any token is asked for, or ""."""
        # RFC 9207: the response must name the issuer we asked (mix-up defence).
        issuer = request.GET.get("iss")
        if issuer != metadata["issuer"] and (
            issuer is not None or metadata.get("authorization_response_iss_parameter_supported")
        ):
            logger.warning("Authorization response from unexpected issuer %r", issuer)
            return "issuer"
        pending = request.session.get("oidc_states", {}).get(request.GET.get("state", ""))
        if pending is None:
            return "aborted" if request.GET.get("error") == "access_denied" else "state"
        if request.GET.get("error"):
            return "aborted" if request.GET["error"] == "access_denied" else "failed"
        if "fresh_since" in pending:
            setattr(request, FRESH_SINCE_REQUEST_ATTRIBUTE, pending["fresh_since"])
        return ""

    @property
    def failure_url(self) -> str:
        return reverse("login-refused")

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        claims = getattr(self.request, CLAIMS_REQUEST_ATTRIBUTE, {})
        sessions.begin(self.request, authenticated_at=auth_time(claims))
        # The login names no organisation (HelseID does not know where a person works); the
        # person acts for one of their own memberships, asserted by HelseID (organisations.act_for).
        self.request.session.pop(units.SESSION_KEY, None)
        choices = organisations.choices(self.request)
        organisations.remember_choice_count(self.request, len(choices))
        fresh = hasattr(self.request, FRESH_SINCE_REQUEST_ATTRIBUTE)
        if fresh:
            self.request.session.cycle_key()  # the session may now do more: give it a new key
        record_event(
            event="user.login",
            outcome="success",
            by=actor_for(self.request),
            data={"fresh": fresh, "choices": len(choices)},
        )
        backchannel.remember(session=self.request.session, sid=str(claims.get("sid", "")), sub=self.user.helseid.sub)
        if not choices:
            return HttpResponseRedirect(reverse("login-no-membership"))
        asserted = f"{claims.get(helseid.CLAIM_ORGNR_PARENT, '')}:{claims.get(helseid.CLAIM_ORGNR_CHILD, '')}"
        if any(choice.key == asserted for choice in choices):
            # A login that asked for the organisation in PAR (a fresh login): HelseID asserted it.
            self.request.session[units.SESSION_KEY] = str(claims.get(helseid.CLAIM_ORGNR_CHILD, ""))
            return response
        if len(choices) == 1:
            try:
                organisations.act_for(self.request, choices[0])
            except organisations.SwitchRefused:
                return HttpResponseRedirect(reverse("login-unit-refused"))
            return response
        return HttpResponseRedirect(f"{reverse('login-unit')}?{urlencode({'next': response['Location']})}")


@require_http_methods(["GET", "POST"])
def unit(request: HttpRequest) -> HttpResponse:
    """Choose the organisation and unit to act for, among the person's own memberships only; the
    portal then asks HelseID for it. Anything else is refused and logged."""
    choices = organisations.choices(request)
    if not choices:
        return HttpResponseRedirect(reverse("login-no-membership"))
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""), reverse("clinician:search"))
    profile = request.user.helseid  # type: ignore[union-attr]
    current = f"{profile.orgnr_parent}:{units.acting_orgnr_child(request, profile)}"
    form = UnitForm(request.POST or None, choices=choices, initial={"membership": current})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            chosen = next(choice for choice in choices if choice.key == form.cleaned_data["membership"])
            try:
                organisations.act_for(request, chosen)
            except organisations.SwitchRefused:
                return HttpResponseRedirect(reverse("login-unit-refused"))
            return HttpResponseRedirect(next_url)
        organisations.refuse_unknown(request, str(request.POST.get("membership", "")))
        status = 400
    return render(request, "login/unit.html", {"form": form, "next": next_url, "choices": choices}, status=status)


@require_GET
def no_membership(request: HttpRequest) -> HttpResponse:
    """Logged in at HelseID, but no organisation has registered the person: say whom to ask."""
    if organisations.choices(request):
        return HttpResponseRedirect(reverse("login-unit"))
    return render(request, "login/no_membership.html", status=403)


@require_GET
def unit_refused(request: HttpRequest) -> HttpResponse:
    """HelseID would not assert the organisation (not delegated to the portal's supplier)."""
    return render(request, "login/unit_refused.html", status=403)


def end_session_url(request: HttpRequest) -> str:
    """RP-initiated logout: send the browser to the IdP so its session ends too."""
    endpoint = oidc.discovery().get("end_session_endpoint")
    if not endpoint:
        return reverse("login")
    params = {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
    }
    id_token = request.session.get("oidc_id_token")
    if id_token:
        params["id_token_hint"] = id_token
    return f"{endpoint}?{urlencode(params)}"


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    record_event(event="user.logout", outcome="success", by=actor_for(request))
    try:
        target = end_session_url(request)
    except (requests.RequestException, KeyError, ValueError):
        target = reverse("login")
    helseid.revoke_refresh_token(str(request.session.get(REFRESH_TOKEN_SESSION_KEY, "")))
    backchannel.forget(session_key=request.session.session_key)
    auth.logout(request)
    return HttpResponseRedirect(target)


@csrf_exempt  # a server-to-server POST from HelseID, authenticated by its signed logout token
@login_not_required
@never_cache
@require_POST
def backchannel_logout(request: HttpRequest) -> HttpResponse:
    """OIDC Back-Channel Logout: HelseID's logout token ends the portal sessions of its `sid`."""
    try:
        claims = backchannel.verify_logout_token(request.POST.get("logout_token", ""))
    except backchannel.InvalidLogoutToken as exc:
        logger.warning("Back-channel logout refused: %s", exc)
        return JsonResponse({"error": "invalid_request", "error_description": str(exc)}, status=400)
    ended = end_login_sessions(sid=str(claims["sid"]), sub=str(claims.get("sub", "")))
    logger.info("Back-channel logout ended %d session(s)", ended)
    return HttpResponse(status=200)
