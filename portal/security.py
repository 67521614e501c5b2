"""Security headers Django's SecurityMiddleware does not set: CSP and Permissions-Policy.

The Content-Security-Policy (settings.CONTENT_SECURITY_POLICY) allows script and style only from
the portal's own static files: no inline <script>, <style>, style="" or on*="" anywhere, which
tests/security/test_web_security.py checks over the templates. Its form-action also names the
HelseID issuer's origin, because logout is a form POST that redirects there (RP-initiated
logout), and browsers apply form-action to the redirect too. X-Content-Type-Options,
Referrer-Policy and Cross-Origin-Opener-Policy come from SecurityMiddleware; HSTS too, in
production (SECURE_HSTS_SECONDS). Framing: nobody (frame-ancestors 'none', X-Frame-Options: DENY)
unless settings.EHR_FRAME_ORIGINS names EHRs that embed the portal (docs/ehr-launch.md); then
only they, and the X-Frame-Options header (which cannot name origins) is left out, and the
cookies the frame needs are Partitioned (CHIPS: PartitionedCookiesMiddleware).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from http.cookies import Morsel
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# The login's pages and redirects (HelseID client, organisation and unit choice) and the handoff.
LOGIN_WINDOW_PATHS = ("/oidc/", "/innlogging/", "/launch/innlogget/")


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
            if request.path.startswith(LOGIN_WINDOW_PATHS):
                # The login window the EHR's frame opens must stay that frame's opener all the way
                # to the handoff (portal.launch.handoff): a COOP of same-origin on any page or
                # redirect on the way cuts it off, since the window began at the EHR's page.
                response.headers["Cross-Origin-Opener-Policy"] = "unsafe-none"
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


class PartitionedMorsel(Morsel[str]):
    """A cookie with the `Partitioned` attribute (CHIPS), which Python 3.11's Morsel and Django
    5.2's set_cookie do not know (Python 3.14's Morsel does; Django not yet)."""

    def OutputString(self, attrs: list[str] | None = None) -> str:  # noqa: N802 - Morsel's own name
        return f"{super().OutputString(attrs)}; Partitioned"


def partitioned(morsel: Morsel[str]) -> PartitionedMorsel:
    copy = PartitionedMorsel()
    copy.set(morsel.key, morsel.value, morsel.coded_value)
    copy.update(morsel)
    return copy


class PartitionedCookiesMiddleware:
    """When EHRs may frame the portal (settings.EHR_FRAME_ORIGINS), its SameSite=None cookies (the
    session, CSRF and messages cookies, Secure by the same setting) are sent Partitioned.

    Inside another site's frame the portal is a third party: a browser that blocks third-party
    cookies (Safari, Firefox's total cookie protection, Chrome when asked) keeps only partitioned
    ones there, in a jar of their own for that EHR's site. So the frame has a session of its own,
    apart from the portal's own window; portal.launch hands it the window's login
    (docs/ehr-launch.md, "Embedded"). Deleting such a cookie needs the attribute too, so every
    Set-Cookie of those names gets it. It sits outside the session and CSRF middleware, so it
    sees the cookies they set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.EHR_FRAME_ORIGINS:
            for name, morsel in list(response.cookies.items()):
                if str(morsel["samesite"]).lower() == "none" and morsel["secure"]:
                    response.cookies[name] = partitioned(morsel)
        return response
