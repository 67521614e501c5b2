"""Who may frame the portal: nobody (frame-ancestors 'none', X-Frame-Options: DENY) unless
EHR_FRAME_ORIGINS names EHRs; then only they, with SameSite=None; Secure cookies (Partitioned:
tests/portal/launch/test_embedded.py), and the login window a frame opens stays its opener."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.security import content_security_policy

ROOT = Path(__file__).resolve().parents[3]


def _directive(response, name: str) -> str:
    policy = response["Content-Security-Policy"]
    return next(d.strip() for d in policy.split(";") if d.strip().split()[0] == name)


@pytest.mark.django_db
def test_by_default_no_one_may_frame_the_portal(client):
    response = client.get("/innlogging/")
    assert _directive(response, "frame-ancestors") == "frame-ancestors 'none'"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_configured_ehr_origins_and_only_they_may_frame_it(client, settings):
    settings.EHR_FRAME_ORIGINS = ["https://dips.lovisenberg.no", "https://ehr.example:8443"]
    response = client.get("/innlogging/")
    assert (
        _directive(response, "frame-ancestors")
        == "frame-ancestors https://dips.lovisenberg.no https://ehr.example:8443"
    )
    assert "X-Frame-Options" not in response
    assert _directive(response, "default-src") == "default-src 'self'"  # the rest of the policy stays


@pytest.mark.django_db
def test_only_the_login_window_a_frame_opens_is_let_keep_its_opener(client, settings):
    """Cross-Origin-Opener-Policy: same-origin everywhere; with EHRs that frame the portal, not on
    the login's pages and redirects and the handoff page (portal.launch.handoff), whose window
    the EHR's frame opened and must still reach."""
    login_window = ["/oidc/authenticate/", "/innlogging/", "/launch/innlogget/"]
    for path in [*login_window, "/", "/launch/"]:
        assert client.get(path)["Cross-Origin-Opener-Policy"] == "same-origin", path
    settings.EHR_FRAME_ORIGINS = ["https://dips.lovisenberg.no"]
    for path in login_window:
        assert client.get(path)["Cross-Origin-Opener-Policy"] == "unsafe-none", path
    for path in ["/", "/launch/", "/revisjon/"]:
        assert client.get(path)["Cross-Origin-Opener-Policy"] == "same-origin", path


def test_the_policy_keeps_form_action_for_the_issuer_beside_frame_ancestors():
    policy = content_security_policy(
        "frame-ancestors 'none'; form-action 'self'", "https://helseid-sts.nhn.no", ("https://ehr.example",)
    )
    assert policy == "frame-ancestors https://ehr.example; form-action 'self' https://helseid-sts.nhn.no"


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "from portal import settings as s; "
        "print(s.SESSION_COOKIE_SAMESITE, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SAMESITE, s.CSRF_COOKIE_SECURE)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"EHR_FRAME_ORIGINS", "DJANGO_ENV"}}
    return subprocess.run(  # noqa: S603 - this interpreter, our settings module
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, check=False
    )


def test_framing_makes_the_cookies_samesite_none_and_secure():
    assert _settings().stdout.split() == ["Lax", "False", "Lax", "False"]
    assert _settings(EHR_FRAME_ORIGINS="http://127.0.0.1:8082").stdout.split() == ["None", "True", "None", "True"]


@pytest.mark.parametrize("origin", ["dips.lovisenberg.no", "https://ehr.example/path", "javascript:alert(1)"])
def test_a_frame_origin_that_is_no_origin_stops_the_start(origin):
    result = _settings(EHR_FRAME_ORIGINS=origin)
    assert result.returncode != 0 and "EHR_FRAME_ORIGINS" in result.stderr
