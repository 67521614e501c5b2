"""Sessions: logout here and at HelseID, idle timeout, absolute lifetime, cookies, fresh logins."""

import os
import subprocess
import sys
import time

import pytest
from django.test import RequestFactory

from portal.login import freshness, sessions
from portal.login.models import Profile
from sharing.audit.models import AuditEvent
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def shift_session(client, **seconds_ago):
    """Move the session's clocks (login_at, last_seen, auth_time) into the past."""
    session = client.session
    for name, ago in seconds_ago.items():
        session[name] = int(time.time()) - ago
    session.save()


def request_with_session(client):
    request = RequestFactory().get("/pasient/")
    request.user = Profile.objects.get().user
    request.session = client.session
    return request


# --- logout ----------------------------------------------------------------------------------


def test_logout_ends_the_local_session_and_the_idp_session(client, helseid, idp_browser, oslo):
    assert idp_browser.login(client, "ingrid-berg")["Location"] == "/"
    # While devidp's session lives, a new login goes straight through without the login page.
    client.logout()
    assert "/interaction/" not in idp_browser.start(client)

    idp_browser.login(client, "ingrid-berg")
    response = client.post("/utlogging/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{helseid.issuer}/connect/endsession?")
    assert "id_token_hint=" in response["Location"]
    assert client.get("/").status_code == 302  # the portal's session is gone

    back = idp_browser.confirm_logout(response["Location"])
    assert back == "http://testserver/innlogging/"
    # devidp's session is gone too: a new login shows the person chooser again.
    assert "/interaction/" in idp_browser.start(client)
    assert AuditEvent.objects.filter(event="user.logout").count() == 1


def test_logout_needs_post(client, helseid, oslo):
    from tests.conftest import idp_login

    idp_login(client, helseid, "ingrid-berg")
    assert client.get("/utlogging/").status_code == 405
    assert client.get("/").status_code == 200


# --- idle timeout and absolute lifetime ----------------------------------------------------


def test_idle_session_is_logged_out_after_30_minutes(client, helseid, idp_browser, oslo):
    idp_browser.login(client, "ingrid-berg")
    shift_session(client, last_seen=29 * 60)
    assert client.get("/").status_code == 200  # 29 minutes idle: still in, and the clock restarts

    shift_session(client, last_seen=31 * 60)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/innlogging/?next=%2F"
    page = client.get(response["Location"]).content.decode()
    assert "30 minutter uten aktivitet" in page
    assert client.get("/").status_code == 302
    expired = AuditEvent.objects.get(event="user.session.expired")
    assert (expired.actor_name, expired.data) == ("Ingrid Berg", {"reason": "idle"})


def test_activity_keeps_the_session_alive(client, helseid, idp_browser, oslo):
    idp_browser.login(client, "ingrid-berg")
    shift_session(client, last_seen=20 * 60)
    assert client.get("/").status_code == 200
    assert time.time() - client.session[sessions.LAST_SEEN] < 5
    shift_session(client, login_at=60 * 60)
    assert client.get("/").status_code == 200


def test_idle_timeout_is_configurable(client, helseid, idp_browser, oslo, settings):
    settings.SESSION_IDLE_SECONDS = 5 * 60
    idp_browser.login(client, "ingrid-berg")
    shift_session(client, last_seen=6 * 60)
    assert client.get("/").status_code == 302


def test_session_ends_after_its_absolute_lifetime_even_when_active(client, helseid, idp_browser, oslo):
    idp_browser.login(client, "ingrid-berg")
    shift_session(client, login_at=12 * 3600 + 1, last_seen=10)
    response = client.get("/")
    assert response.status_code == 302
    assert "12 timer" in client.get(response["Location"]).content.decode()
    assert AuditEvent.objects.get(event="user.session.expired").data == {"reason": "lifetime"}


def test_absolute_lifetime_is_configurable(client, helseid, idp_browser, oslo, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 3600
    idp_browser.login(client, "ingrid-berg")
    shift_session(client, login_at=3601, last_seen=10)
    assert client.get("/").status_code == 302


def test_session_limit_settings_come_from_the_environment():
    env = {
        **os.environ,
        "SESSION_IDLE_SECONDS": "900",
        "SESSION_ABSOLUTE_SECONDS": "28800",
        "EMERGENCY_LOGIN_MAX_AGE_SECONDS": "120",
    }
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from portal import settings as s; "
            "print(s.SESSION_IDLE_SECONDS, s.SESSION_ABSOLUTE_SECONDS, s.SESSION_COOKIE_AGE, "
            "s.EMERGENCY_LOGIN_MAX_AGE_SECONDS)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["900", "28800", "28800", "120"]


def test_production_cookies_are_secure_httponly_and_samesite():
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:5432/none",
        "ALLOWED_HOSTS": "maaledata.example",
        "OIDC_ISSUER": "https://helseid-sts.test.nhn.no",
        "SERVICE_OPERATOR_ORGNR": "316666019",
        "AUDIT_CHAIN_KEY": "k" * 64,
    }
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from portal import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, "
            "s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, "
            "s.SESSION_IDLE_SECONDS, s.SESSION_ABSOLUTE_SECONDS)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == [
        "True",
        "True",
        "Lax",
        "True",
        "True",
        "__Host-sessionid",
        "__Host-csrftoken",
        "1800",
        "43200",
    ]


def test_production_refuses_to_start_without_the_client_key(tmp_path):
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:5432/none",
        "ALLOWED_HOSTS": "maaledata.example",
        "OIDC_ISSUER": "https://helseid-sts.test.nhn.no",
        "SERVICE_OPERATOR_ORGNR": "316666019",
        "AUDIT_CHAIN_KEY": "k" * 64,
        "OIDC_RP_PRIVATE_KEY_FILE": str(tmp_path / "missing.pem"),
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode != 0
    assert "login.E001" in out.stderr


# --- fresh logins (emergency access) --------------------------------------------------------


def test_login_is_fresh_right_after_login_and_stale_later(client, helseid, idp_browser, oslo):
    idp_browser.login(client, "ingrid-berg")
    assert freshness.login_is_fresh(request_with_session(client), 600)
    assert freshness.require_fresh_login(request_with_session(client)) is None
    shift_session(client, auth_time=11 * 60)
    assert not freshness.login_is_fresh(request_with_session(client))
    redirect = freshness.require_fresh_login(request_with_session(client))
    assert redirect is not None
    assert redirect["Location"] == "/innlogging/bekreft/?next=%2Fpasient%2F"


def test_fresh_login_asks_helseid_to_log_the_person_in_again(client, helseid, idp_browser, oslo):
    idp_browser.login(client, "ingrid-berg")
    shift_session(client, auth_time=3600)
    old_key = client.session.session_key
    # devidp's session is alive, so an ordinary login would go straight through...
    page = idp_browser.start(client, "/innlogging/bekreft/?next=/pasient/")
    # ...but prompt=login shows the login page again.
    assert "/interaction/" in page
    response = idp_browser.callback(client, idp_browser.choose(page, "ingrid-berg"))
    assert response["Location"] == "/pasient/"
    assert freshness.login_is_fresh(request_with_session(client), 60)
    assert client.session.session_key != old_key
    fresh = AuditEvent.objects.filter(event="user.login").order_by("id").last()
    assert fresh.data == {"fresh": True, "choices": 1}


def test_fresh_login_is_refused_when_the_id_token_tells_of_an_older_authentication(client, helseid, idp_browser, oslo):
    idp_browser.login(client, "ingrid-berg")
    shift_session(client, auth_time=3600)
    page = idp_browser.start(client, "/innlogging/bekreft/?next=/pasient/")
    # As if HelseID had ignored prompt=login: the portal asked for a login after this moment.
    session = client.session
    (state,) = session["oidc_states"]
    session["oidc_states"][state]["fresh_since"] += 3600
    session.save()
    response = idp_browser.callback(client, idp_browser.choose(page, "ingrid-berg"))
    assert response["Location"] == "/innlogging/avvist/"
    assert not freshness.login_is_fresh(request_with_session(client), 600)
