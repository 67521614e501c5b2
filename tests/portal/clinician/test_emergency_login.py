"""Emergency access as the law expects: a recent HelseID login (EMERGENCY_LOGIN_MAX_AGE_SECONDS,
asked for with prompt=login over real HTTP through devidp) and always its own reason; reopening
after the window has ended is a new emergency lookup that asks for a new reason."""

import time

import pytest

from portal.login.sessions import AUTH_TIME
from sharing.audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

EMERGENCY = {"basis": "emergency", "reason": "Bevisstløs i mottak"}


def age_login(client, seconds):
    session = client.session
    session[AUTH_TIME] = int(time.time()) - seconds
    session.save()


def test_emergency_lookup_after_max_age_forces_a_new_login(client, idp_browser, year_data, settings):
    settings.EMERGENCY_LOGIN_MAX_AGE_SECONDS = 600
    assert idp_browser.login(client, "ingrid-berg")["Location"] == "/"
    age_login(client, 601)
    response = client.post("/", {"national_id": year_data, **EMERGENCY})
    assert response.status_code == 302
    assert response["Location"] == "/innlogging/bekreft/?next=%2F"
    assert not AuditEvent.objects.filter(event="patient.lookup").exists()  # nothing looked up yet

    # devidp asks for the person again (prompt=login), and the lookup comes back filled in.
    page = idp_browser.start(client, response["Location"])
    assert "/interaction/" in page
    back = idp_browser.callback(client, idp_browser.choose(page, "ingrid-berg"))
    assert back["Location"] == "/"
    form = client.get("/").content.decode()
    assert year_data in form and "Bevisstløs i mottak" in form
    assert AuditEvent.objects.filter(event="user.login", data__fresh=True).count() == 1
    assert client.post("/", {"national_id": year_data, **EMERGENCY}).status_code == 302
    granted = AuditEvent.objects.get(event="patient.lookup")
    assert (granted.outcome, granted.basis, granted.reason) == ("granted", "emergency", "Bevisstløs i mottak")


def test_recent_login_needs_no_new_one(client, idp_browser, year_data, settings):
    settings.EMERGENCY_LOGIN_MAX_AGE_SECONDS = 600
    idp_browser.login(client, "ingrid-berg")
    age_login(client, 500)
    response = client.post("/", {"national_id": year_data, **EMERGENCY})
    assert response["Location"].startswith("/pasient/")


def test_reopening_an_expired_emergency_window_asks_for_a_new_reason(client, idp_browser, year_data, settings):
    idp_browser.login(client, "ingrid-berg")
    response = client.post("/", {"national_id": year_data, **EMERGENCY})
    key = response["Location"].strip("/").split("/")[1]
    settings.EMERGENCY_ACCESS_HOURS = 0  # the window has ended
    again = client.post(f"/pasient/{key}/apne/")
    assert again.status_code == 403
    page = again.content.decode()
    assert "krever en skriftlig begrunnelse" in page
    assert 'name="reason"' in page and "Bevisstløs i mottak" not in page.split('name="reason"')[1][:200]
    lookups = AuditEvent.objects.filter(event="patient.lookup").order_by("id")
    assert [(e.outcome, e.reason) for e in lookups] == [("granted", "Bevisstløs i mottak"), ("denied", "")]
    assert lookups.last().data == {"denial": "reason-required"}


def test_reopening_inside_the_window_needs_no_new_reason_and_keeps_no_old_one(client, idp_browser, year_data):
    idp_browser.login(client, "ingrid-berg")
    response = client.post("/", {"national_id": year_data, **EMERGENCY})
    key = response["Location"].strip("/").split("/")[1]
    assert client.post(f"/pasient/{key}/apne/")["Location"].startswith("/pasient/")
    lookups = AuditEvent.objects.filter(event="patient.lookup").order_by("id")
    assert [(e.outcome, e.basis, e.reason) for e in lookups] == [
        ("granted", "emergency", "Bevisstløs i mottak"),
        ("granted", "emergency", ""),
    ]
