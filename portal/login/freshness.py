"""Fresh logins for sensitive steps (emergency access): how long ago did HelseID see the person?

A page that needs a recent login calls `require_fresh_login(request)`; when it answers with a
redirect, the page returns it. The person logs in again at HelseID (prompt=login), the callback
checks that the ID token's auth_time is new, and they come back to `next`.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from .sessions import AUTH_TIME


def login_age(request: HttpRequest) -> float | None:
    """Seconds since the person last authenticated at HelseID, or None when unknown."""
    authenticated_at = request.session.get(AUTH_TIME)
    if not request.user.is_authenticated or not isinstance(authenticated_at, int):
        return None
    return time.time() - authenticated_at


def login_is_fresh(request: HttpRequest, max_age: int | None = None) -> bool:
    """Whether the last HelseID authentication is at most `max_age` seconds old
    (default: EMERGENCY_LOGIN_MAX_AGE_SECONDS)."""
    age = login_age(request)
    limit = settings.EMERGENCY_LOGIN_MAX_AGE_SECONDS if max_age is None else max_age
    return age is not None and age <= limit


def fresh_login_url(next_url: str) -> str:
    """Where to send someone who must log in again before `next_url` (a local path)."""
    return f"{reverse('login-fresh')}?{urlencode({'next': next_url})}"


def require_fresh_login(request: HttpRequest, max_age: int | None = None) -> HttpResponseRedirect | None:
    """None when the login is fresh enough; otherwise the redirect to a new login that returns here."""
    if login_is_fresh(request, max_age):
        return None
    return HttpResponseRedirect(fresh_login_url(request.get_full_path()))
