"""The portal in the EHR's frame: its cookies are Partitioned (CHIPS) when EHRs may frame it, so
the frame keeps a session of its own, and the login the person makes in a window of its own is
handed to that frame (portal/launch/handoff.py). Over real HTTP where the headers matter."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
import time_machine
from django.test import Client
from django.utils import timezone

from sharing.audit.models import AuditEvent
from sharing.core.events import Event
from tests.conftest import idp_login, loopback
from tests.portal.clinician.factories import KARI, seed_year
from tests.portal.launch.test_launch import through_ehr

pytestmark = pytest.mark.django_db(transaction=True)

FRAME = {"Sec-Fetch-Dest": "iframe"}


@pytest.fixture
def embedding(settings, testehr):
    """What EHR_FRAME_ORIGINS makes of the settings (portal/settings.py), for this test."""
    settings.EHR_FRAME_ORIGINS = [testehr.origin]
    settings.SESSION_COOKIE_SAMESITE = settings.CSRF_COOKIE_SAMESITE = "None"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    return testehr


def _set_cookies(response: requests.Response) -> dict[str, str]:
    """Each Set-Cookie header as the portal sent it, by cookie name."""
    headers = response.raw.headers.getlist("Set-Cookie")
    return {header.split("=", 1)[0]: header for header in headers}


def _framed_launch(portal: str, ehr: Any) -> tuple[requests.Response, requests.Response]:
    """A launch as the EHR's frame makes it, over real HTTP: the portal's answer to /launch/, and
    its confirm page (asking for a login: the frame's jar holds none) with its CSRF-protected form."""
    browser = requests.Session()  # sends no Secure cookie over http: the portal's is sent by hand
    start = browser.get(ehr.launch_location("p1"), allow_redirects=False, timeout=10)
    portal_cookie = {"Cookie": f"sessionid={start.cookies['sessionid']}"}
    url = start.headers["Location"]
    while "/launch/bekreft/" not in url:
        mine = portal_cookie if url.startswith(portal) else {}
        answer = browser.get(url, headers=mine, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text[:2000]
        url = urljoin(url, answer.headers["Location"])
    confirm = browser.get(url, headers={**FRAME, **portal_cookie}, allow_redirects=False, timeout=10)
    assert confirm.status_code == 200 and "Logg inn med HelseID i nytt vindu" in confirm.text
    return start, confirm


def test_framed_the_session_and_csrf_cookies_are_partitioned(live_server, embedding):
    start, confirm = _framed_launch(loopback(live_server.url), embedding)
    assert _set_cookies(start)["sessionid"].endswith("; SameSite=None; Secure; Partitioned")
    assert _set_cookies(confirm)["csrftoken"].endswith("; SameSite=None; Secure; Partitioned")


def test_not_framed_no_cookie_is_partitioned(live_server, testehr):
    start, confirm = _framed_launch(loopback(live_server.url), testehr)
    cookies = {**_set_cookies(start), **_set_cookies(confirm)}
    assert {"sessionid", "csrftoken"} <= set(cookies)
    assert all("SameSite=Lax" in c and "Partitioned" not in c for c in cookies.values()), cookies


def test_a_partitioned_cookie_is_deleted_partitioned(window, embedding):
    """Logging out deletes the session cookie: the deletion must name the same (partitioned) cookie."""
    out = window.post("/utlogging/")
    deleted = out.cookies["sessionid"].output(header="")
    assert "Max-Age=0" in deleted and deleted.endswith("; SameSite=None; Secure; Partitioned"), deleted


def _code(page: Any) -> str:
    found = re.search(r'data-handoff-code="([^"]+)"', page.content.decode())
    assert found, page.content.decode()[:2000]
    return found.group(1)


@pytest.fixture
def window(helseid, oslo) -> Client:
    """The portal in a window of its own, logged in as Ingrid Berg."""
    seed_year()
    client = Client()
    idp_login(client, helseid, "ingrid-berg")
    return client


def test_the_login_of_the_portals_window_is_handed_to_the_frame(window, embedding):
    frame = Client()  # the frame's own cookie jar (partitioned): no login in it
    confirm_url = through_ehr(frame, embedding.launch_location("p1"))["Location"]
    asked = frame.get(confirm_url, headers=FRAME)
    page = asked.content.decode()
    assert asked.status_code == 200 and "Logg inn med HelseID i nytt vindu" in page and "Kari" not in page
    assert "/oidc/authenticate/?next=%2Flaunch%2Finnlogget%2F" in page
    join = re.search(r'action="([^"]+/koble/)"', page).group(1)  # type: ignore[union-attr]

    offered = window.get("/launch/innlogget/")
    assert offered.status_code == 200 and offered["Cross-Origin-Opener-Policy"] == "unsafe-none"
    joined = frame.post(join, {"code": _code(offered)})
    assert joined.status_code == 302 and joined["Location"] == confirm_url
    assert frame.cookies["sessionid"].value == window.cookies["sessionid"].value
    # The hand-over is in the log, in the person's name, before the frame shows anything.
    handed = AuditEvent.objects.get(event=Event.USER_SESSION_JOINED)
    assert (handed.outcome, handed.actor_name, handed.data["channel"]) == ("success", "Ingrid Berg", "ehr-frame")
    assert not AuditEvent.objects.filter(event=Event.PATIENT_LOOKUP).exists()

    confirm = frame.get(confirm_url, headers=FRAME)
    assert confirm.status_code == 200 and "Kari Nordmann" in confirm.content.decode()
    frame.post(confirm_url, {"reason": "Innlagt"})
    lookup = AuditEvent.objects.get(event=Event.PATIENT_LOOKUP)
    assert (lookup.outcome, lookup.patient_value, lookup.actor_name) == ("granted", KARI, "Ingrid Berg")
    assert lookup.data["launch"]["encounter"] == "Encounter/e1"


def test_a_handoff_code_is_used_once(window, embedding):
    code = _code(window.get("/launch/innlogget/"))
    first, second = Client(), Client()
    urls = [through_ehr(c, embedding.launch_location("p1"))["Location"] for c in (first, second)]
    assert first.post(urls[0] + "koble/", {"code": code}).status_code == 302
    refused = second.post(urls[1] + "koble/", {"code": code})
    assert refused.status_code == 400 and "hører ikke til" in refused.content.decode()
    assert AuditEvent.objects.filter(event=Event.USER_SESSION_JOINED).count() == 1  # the first only
    assert second.get(urls[1], headers=FRAME).status_code == 200  # still asked to log in:
    assert "Logg inn med HelseID" in second.get(urls[1], headers=FRAME).content.decode()


def test_a_handoff_code_lasts_a_minute(window, embedding):
    code = _code(window.get("/launch/innlogget/"))
    frame = Client()
    confirm_url = through_ehr(frame, embedding.launch_location("p1"))["Location"]
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61), tick=False):
        refused = frame.post(confirm_url + "koble/", {"code": code})
    assert refused.status_code == 400
    assert AuditEvent.objects.filter(event=Event.LAUNCH_REFUSED, data__refusal="state").exists()


@pytest.mark.parametrize("code", ["", "nonsense", "x" * 500])
def test_an_unknown_code_joins_nothing(window, embedding, code):
    frame = Client()
    confirm_url = through_ehr(frame, embedding.launch_location("p1"))["Location"]
    before = frame.cookies["sessionid"].value
    assert frame.post(confirm_url + "koble/", {"code": code}).status_code == 400
    assert frame.cookies["sessionid"].value == before


def test_a_frame_without_a_waiting_launch_cannot_take_a_login(window, embedding):
    """The code alone is worth nothing: a session must wait on a launch from a registered EHR."""
    code = _code(window.get("/launch/innlogget/"))
    stranger = Client()
    refused = stranger.post("/launch/bekreft/made-up/koble/", {"code": code})
    assert refused.status_code == 400 and "sessionid" not in stranger.cookies
    assert stranger.get("/").status_code == 302  # not logged in


def test_a_logged_out_window_hands_over_nothing(window, embedding):
    code = _code(window.get("/launch/innlogget/"))
    window.post("/utlogging/")
    frame = Client()
    confirm_url = through_ehr(frame, embedding.launch_location("p1"))["Location"]
    assert frame.post(confirm_url + "koble/", {"code": code}).status_code == 400


def test_on_one_site_the_window_and_the_frame_share_their_session_already(helseid, embedding, oslo):
    """An EHR on the portal's own site: the frame's cookies are the window's, so the handoff finds
    the frame in the window's session and leaves it as it is."""
    seed_year()
    browser = Client()  # one cookie jar for the frame and the window
    confirm_url = through_ehr(browser, embedding.launch_location("p1"))["Location"]
    assert "Logg inn med HelseID" in browser.get(confirm_url, headers=FRAME).content.decode()
    idp_login(browser, helseid, "ingrid-berg")
    before = browser.cookies["sessionid"].value
    joined = browser.post(confirm_url + "koble/", {"code": _code(browser.get("/launch/innlogget/"))})
    assert joined.status_code == 302 and browser.cookies["sessionid"].value == before
    assert "Kari Nordmann" in browser.get(confirm_url, headers=FRAME).content.decode()
