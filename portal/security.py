"""Security headers Django's SecurityMiddleware does not set: CSP and Permissions-Policy.

The Content-Security-Policy (settings.CONTENT_SECURITY_POLICY) allows script and style only from
the portal's own static files: no inline <script>, <style>, style="" or on*="" anywhere, which
tests/security/test_web_security.py checks over the templates. Its form-action also names the
HelseID issuer's origin, because logout is a form POST that redirects there (RP-initiated
logout), and browsers apply form-action to the redirect too. X-Content-Type-Options,
Referrer-Policy and Cross-Origin-Opener-Policy come from SecurityMiddleware; HSTS too, in
production (SECURE_HSTS_SECONDS). Framing: nobody (frame-ancestors 'none', X-Frame-Options: DENY)
unless settings.EHR_FRAME_ORIGINS names EHRs that embed the portal (docs/ehr-launch.md); then
only they, and the X-Frame-Options header (which cannot name origins) is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse


@lru_cache(maxsize=8)
def content_security_policy(policy: str, issuer: str, frame_origins: tuple[str, ...] = ()) -> str:
    """`policy` with the issuer's origin added to form-action, and frame-ancestors naming the EHR
    origins that may show the portal in their frame (settings.EHR_FRAME_ORIGINS; none: 'none')."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme in {"https", "http"} and parts.netloc else ""
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    out = []
    for directive in directives:
        name = directive.split()[0]
        if name == "form-action" and origin:
            directive = f"{directive} {origin}"
        elif name == "frame-ancestors" and frame_origins:
            directive = "frame-ancestors " + " ".join(frame_origins)
        out.append(directive)
    return "; ".join(out)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        frame_origins = tuple(settings.EHR_FRAME_ORIGINS)
        policy = content_security_policy(settings.CONTENT_SECURITY_POLICY, settings.OIDC_ISSUER, frame_origins)
        response.headers.setdefault("Content-Security-Policy", policy)
        if frame_origins:
            # X-Frame-Options cannot name origins (DENY would forbid the EHR too); the CSP does.
            response.headers.pop("X-Frame-Options", None)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response
