"""Web security: headers, a strict CSP the templates keep to, CSRF on every form, check --deploy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.test import Client
from django.urls import get_resolver, reverse

from tests.conftest import ROOT, DevIdP, idp_login

from .test_authorization_matrix import walk

TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("portal/*/templates"), *ROOT.glob("sharing/*/templates")]
TEMPLATES = sorted(p for d in TEMPLATE_DIRS for p in d.rglob("*.html"))
STATIC_JS = sorted((ROOT / "static" / "js").rglob("*.js"))


def test_there_are_templates_to_check() -> None:
    assert len(TEMPLATES) > 20


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_or_style(path: Path) -> None:
    """What the CSP would block, and so must not be there: inline script, style, handlers, javascript:."""
    text = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"<style\b", text), "<style> block"
    assert not re.search(r"\sstyle\s*=", text), "style attribute"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    assert "javascript:" not in text.lower()


@pytest.mark.parametrize("path", STATIC_JS, ids=lambda p: str(p.relative_to(ROOT)))
def test_scripts_do_not_evaluate_strings_or_write_html(path: Path) -> None:
    text = path.read_text()
    assert not re.search(r"\beval\s*\(|new\s+Function\s*\(|setTimeout\s*\(\s*['\"]", text)
    assert "innerHTML" not in text and "document.write" not in text


def test_responses_carry_the_security_headers(client: Client) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    csp = dict(
        (d.split(" ", 1)[0], d.split(" ", 1)[1] if " " in d else "")
        for d in (part.strip() for part in response["Content-Security-Policy"].split(";"))
    )
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'" and csp["object-src"] == "'none'"
    assert csp["form-action"] == f"'self' {settings.OIDC_ISSUER.rstrip('/')}"
    assert "unsafe" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_fhir_api_carries_them_too(client: Client) -> None:
    response = client.get("/fhir/metadata", HTTP_ACCEPT="application/fhir+json")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


# --- Production settings ---------------------------------------------------------------------------


def _production_env(tmp_path: Path) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "portal.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG", "SECURE_", "OIDC_"))}
    return {
        **env,
        "DJANGO_ENV": "production",
        "SECRET_KEY": "p" + os.urandom(40).hex(),
        "ALLOWED_HOSTS": "maaledata.example.no",
        "DATABASE_URL": "postgres://maaledata@db.invalid:5432/maaledata",  # check --deploy does not connect
        "OIDC_ISSUER": "https://helseid-sts.test.nhn.no",
        "OIDC_RP_PRIVATE_KEY_FILE": str(pem),
        "SERVICE_OPERATOR_ORGNR": "316666019",
        "AUDIT_CHAIN_KEY": os.urandom(32).hex(),
    }


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_turns_on_hsts_secure_cookies_and_https(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_NAME, s.DEBUG)"
    )
    result = _manage(_production_env(tmp_path), "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "31536000",
        "True",
        "True",
        "True",
        "True",
        "True",
        "__Host-sessionid",
        "False",
    ]


@pytest.mark.parametrize("name", ["SECRET_KEY", "AUDIT_CHAIN_KEY"])
def test_production_refuses_to_start_without_its_secrets(tmp_path: Path, name: str) -> None:
    env = _production_env(tmp_path)
    del env[name]
    result = _manage(env, "check")
    assert result.returncode != 0 and f"{name} must be set" in result.stderr


# --- CSRF --------------------------------------------------------------------------------------------


def test_csrf_middleware_is_on() -> None:
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE


def test_only_the_token_authenticated_api_is_csrf_exempt() -> None:
    """Cookies never authenticate the FHIR API (bearer tokens only), so only it may skip CSRF, with
    HelseID's back-channel logout (a signed logout token, no cookie; it can only end sessions)."""
    exempt = []
    for pattern_route, _name in walk(get_resolver().url_patterns):
        match = get_resolver().resolve("/" + _sample(pattern_route))
        if getattr(match.func, "csrf_exempt", False):
            exempt.append(pattern_route)
    token_authenticated = [r for r in exempt if r.startswith("fhir") or r == "oidc/backchannel-logout/"]
    assert exempt and exempt == token_authenticated, exempt


def _sample(route: str) -> str:
    route = route.replace("^", "").removesuffix("$")  # a regex's anchors; "$export" keeps its "$"
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "x1", route)
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "1" if m.group(1) == "pk" else "x1", route)


FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_post_form_carries_the_csrf_token(path: Path) -> None:
    for attributes, body in FORM.findall(path.read_text()):
        if re.search(r"method\s*=\s*[\"']post[\"']", attributes, re.I):
            assert "{% csrf_token %}" in body or "{% csrf_token %}" in attributes, f"{path}: <form{attributes}>"


@pytest.mark.django_db(transaction=True)
def test_every_portal_url_refuses_a_post_without_the_token(helseid: DevIdP, oslo: Any) -> None:
    """Logged in, with CSRF enforced as in a browser: a POST without the token is 403 everywhere."""
    client = Client(enforce_csrf_checks=True)
    idp_login(client, helseid, "astrid-holm")
    # The FHIR API and HelseID's back-channel logout are server-to-server calls that carry no cookie
    # and are authenticated by a signed token instead (tests/portal/test_backchannel_logout.py).
    routes = [
        r
        for r, name in walk(get_resolver().url_patterns)
        if not r.startswith("fhir") and name != "oidc-backchannel-logout"
    ]
    assert len(routes) > 20
    for route in routes:
        response = client.post("/" + _sample(route), {})
        assert response.status_code == 403, (route, response.status_code)
        assert b"CSRF" in response.content, route  # refused by the CSRF check, not by the view
    assert client.get(reverse("login-unit")).status_code == 200  # still logged in


# --- Caches --------------------------------------------------------------------------------------------


def test_static_files_keep_their_cache_lifetime_and_errors_are_not_stored(client: Client) -> None:
    """no-store is the default for everything but static files (WhiteNoise answers those first)."""
    css = client.get("/static/css/portal.css")
    assert css.status_code == 200 and "no-store" not in css.get("Cache-Control", "")
    css.close()  # a file response: close the file
    for response in (client.get("/ingen-side/"), client.get("/fhir/Nothing", HTTP_ACCEPT="application/fhir+json")):
        assert response.status_code in {401, 404}
        assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"
