"""Security headers Django's SecurityMiddleware does not set: CSP and Permissions-Policy.

The Content-Security-Policy (settings.CONTENT_SECURITY_POLICY) allows script and style only from
the portal's own static files: no inline <script>, <style>, style="" or on*="" anywhere, which
tests/security/test_web_security.py checks over the templates. Its form-action also names the
HelseID issuer's origin, because logout is a form POST that redirects there (RP-initiated
logout), and browsers apply form-action to the redirect too. X-Content-Type-Options,
Referrer-Policy and Cross-Origin-Opener-Policy come from SecurityMiddleware; HSTS too, in
production (SECURE_HSTS_SECONDS).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse


@lru_cache(maxsize=8)
def content_security_policy(policy: str, issuer: str) -> str:
    """`policy` with the issuer's origin added to form-action."""
    parts = urlsplit(issuer)
    if not (parts.scheme in {"https", "http"} and parts.netloc):
        return policy
    origin = f"{parts.scheme}://{parts.netloc}"
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    return "; ".join(f"{d} {origin}" if d.split()[0] == "form-action" else d for d in directives)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = content_security_policy(settings.CONTENT_SECURITY_POLICY, settings.OIDC_ISSUER)
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response
