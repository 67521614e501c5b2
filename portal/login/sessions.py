"""Session limits: an idle timeout and an absolute lifetime, both counted on the server.

Every HelseID login starts the clocks (`begin`); a session that somehow has none (a test's
force_login) gets them on its first request, so no session escapes the limits.

The session cookie is a browser-session cookie (SESSION_EXPIRE_AT_BROWSER_CLOSE: no expiry of its
own); SESSION_COOKIE_AGE, set to the absolute lifetime, is how long the server keeps the session
record. A cookie is the browser's to keep anyway: the times that count are stored in the session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from sharing.audit.actions import record_event

from .acting import actor_for

LOGIN_AT = "login_at"
LAST_SEEN = "last_seen"
AUTH_TIME = "auth_time"
ENDED_REASON = "session_ended"
# Writing the session on every request costs a database write; a minute's precision is enough.
LAST_SEEN_PRECISION_SECONDS = 60


def begin(request: HttpRequest, *, authenticated_at: int) -> None:
    """Start the clocks of a new login; `authenticated_at` is HelseID's auth_time."""
    now = int(time.time())
    request.session[LOGIN_AT] = now
    request.session[LAST_SEEN] = now
    request.session[AUTH_TIME] = authenticated_at


def expiry_reason(request: HttpRequest, now: float) -> str:
    """ "idle" or "lifetime" when the session has run out, else ""."""
    login_at = request.session.setdefault(LOGIN_AT, int(now))
    last_seen = request.session.setdefault(LAST_SEEN, int(now))
    if now - login_at > settings.SESSION_ABSOLUTE_SECONDS:
        return "lifetime"
    if now - last_seen > settings.SESSION_IDLE_SECONDS:
        return "idle"
    return ""


class SessionLimitsMiddleware:
    """Logs out a session that has been idle too long or has lived too long, and says why."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            reason = expiry_reason(request, now)
            if reason:
                return self._end(request, reason)
            if now - request.session[LAST_SEEN] >= LAST_SEEN_PRECISION_SECONDS:
                request.session[LAST_SEEN] = int(now)
        return self.get_response(request)

    def _end(self, request: HttpRequest, reason: str) -> HttpResponse:
        if hasattr(request.user, "helseid"):
            record_event(
                event="user.session.expired", outcome="success", by=actor_for(request), data={"reason": reason}
            )
        auth.logout(request)
        request.session[ENDED_REASON] = reason
        query = urlencode({"next": request.get_full_path()[:1000]}) if request.method == "GET" else ""
        return HttpResponseRedirect(f"{reverse('login')}?{query}" if query else reverse("login"))
