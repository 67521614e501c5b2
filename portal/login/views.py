"""Login through HelseID: the public login page, PAR-based authorization request, callback, logout."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from sharing import oidc
from sharing.audit.actions import record_event

from . import helseid
from .acting import actor_for
from .backend import REFUSAL_SESSION_KEY

logger = logging.getLogger(__name__)


@login_not_required
def login_page(request: HttpRequest) -> HttpResponse:
    return render(request, "login/login.html", {"next": request.GET.get("next", "")})


@login_not_required
def refused(request: HttpRequest) -> HttpResponse:
    refusal = request.session.pop(REFUSAL_SESSION_KEY, None) or {}
    return render(request, "login/refused.html", {"refusal": refusal}, status=403)


def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.warning("Login unavailable: %s", exc)
    return render(request, "login/unavailable.html", status=503)


@method_decorator(login_not_required, name="dispatch")
class AuthenticationRequest(OIDCAuthenticationRequestView):
    """Build the request as mozilla-django-oidc does (state, nonce, PKCE), then push it (PAR)."""

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
        except (requests.RequestException, helseid.PushedAuthorizationFailed, KeyError, ValueError) as exc:
            return _unavailable(request, exc)
        query = urlencode({"client_id": settings.OIDC_RP_CLIENT_ID, "request_uri": request_uri})
        return HttpResponseRedirect(f"{self.OIDC_OP_AUTH_ENDPOINT}?{query}")


@method_decorator(login_not_required, name="dispatch")
class AuthenticationCallback(OIDCAuthenticationCallbackView):
    def get(self, request: HttpRequest) -> HttpResponse:
        # RFC 9207: the authorization response must come from the issuer we asked (mix-up defence).
        issuer = request.GET.get("iss")
        try:
            expected = oidc.discovery()["issuer"]
        except (requests.RequestException, KeyError, ValueError) as exc:
            return _unavailable(request, exc)
        if issuer is not None and issuer != expected:
            logger.warning("Authorization response from unexpected issuer %r", issuer)
            return self.login_failure()
        return super().get(request)

    @property
    def failure_url(self) -> str:
        return reverse("login-refused")

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        record_event(event="user.login", outcome="success", by=actor_for(self.request))
        return response


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
    auth.logout(request)
    return HttpResponseRedirect(target)
