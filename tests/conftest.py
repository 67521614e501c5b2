"""Shared fixtures: PostgreSQL, devidp over real HTTP, and the named personas.

Personas (test persons in devidp/persons.json):
- ingrid-berg: physician at Lovisenberg, whose organisation has an agreement with Oslo;
- ola-hansen: GP at Sagene legesenter, agreement with Oslo limited to 90 days;
- per-dahl: physician at Fjordvik sykehus, whose organisation has no agreement;
- nina-lund: nurse at Lovisenberg without an HPR number;
- astrid-holm: Oslo municipality admin; jonas-strand: Oslo auditor;
- emil-vik: physician at Lovisenberg who logged in at security level 3;
- knut-rud: physician at Lovisenberg whose HPR authorisation is revoked;
- hilde-sand: physiotherapist at Sagene (the agreement covers LE and SP only);
- marte-eik: physician registered at Lovisenberg and at Sagene (chooses, switches);
- lars-bu: physician no organisation has registered; eva-ruud: Lovisenberg's organisation admin;
- sara-lunde: Lovisenberg's privacy officer (organisation auditor: its own staff's reads).

Where each works is the portal's (devdata/demo.py: MEMBERS), registered before every devidp login.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from devdata import demo
from portal.login.devclient import run_devidp
from portal.login.devsetup import write_clients_file
from portal.login.helseid import CLIENT_ASSERTION_TYPE, _load_key, client_assertion
from sharing import oidc
from tests import dbroles

ROOT = Path(__file__).resolve().parent.parent
VKP_DIR = Path(os.environ.get("VKP_DIR", ROOT.parent / "shared" / "vkp"))
ARTIFACTS = ROOT / "test-artifacts"
PATIENT = "30875928763"  # Kari Nordmann, demo patient in Oslo's follow-up


def pytest_configure(config: pytest.Config) -> None:
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise pytest.UsageError("Tests run on PostgreSQL: use `make test` or set DATABASE_URL.")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The `replica` tests make two PostgreSQL clusters (tests/replica): only with REPLICA_TESTS=1.

    In a parallel run (`make test`: pytest-xdist, `--dist loadgroup`) a file's tests stay on one
    worker, so its module fixtures are made once, and every browser test shares one worker: one
    Chromium at a time on a two-core machine."""
    skip = pytest.mark.skip(
        reason="makes a primary and a standby PostgreSQL cluster: set REPLICA_TESTS=1 (make test does)"
    )
    for item in items:
        if "replica" in item.keywords and os.environ.get("REPLICA_TESTS") != "1":
            item.add_marker(skip)
        in_browser = "browser" in item.keywords or "page" in getattr(item, "fixturenames", ())
        group = "browser" if in_browser else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


dbroles.install()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The owner created and migrated the test database; every test then runs as the runtime role.

    See tests/dbroles.py: the owner grants the runtime role what the code needs (grant_app_role),
    and empties the tables between transactional tests over a connection of its own.
    """
    with django_db_blocker.unblock():
        call_command("grant_app_role", dbroles.RUNTIME_ROLE, stdout=io.StringIO())
        with connection.cursor() as cursor:
            cursor.execute(dbroles.TEST_SWITCHES)
        dbroles.become_runtime_role()
    yield
    with django_db_blocker.unblock():
        dbroles.become_owner_again()


# --- devidp ------------------------------------------------------------------------------


def loopback(url: str) -> str:
    """The live server's URL on 127.0.0.1 instead of localhost (the same server)."""
    return url.replace("//localhost:", "//127.0.0.1:")


@dataclass
class DevIdP:
    issuer: str
    keys_dir: Path
    process: subprocess.Popen[str]
    log: Path

    def system_token(self, client_id: str = "vkp-oslo", scope: str | None = None) -> str:
        key = _load_key((self.keys_dir / f"{client_id}.pem").read_text())
        scope = settings.FHIR_SCOPE_OBSERVATION_WRITE if scope is None else scope
        response = requests.post(
            f"{self.issuer}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "scope": scope,
                "resource": settings.FHIR_API_AUDIENCE,
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": client_assertion(client_id=client_id, key=key, audience=self.issuer),
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


@pytest.fixture(scope="session")
def devidp(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevIdP]:
    """devidp (npm oidc-provider) on a free loopback port, for the whole session."""
    work = tmp_path_factory.mktemp("devidp")
    keys_dir = work / "keys"
    clients = write_clients_file(
        path=work / "clients.json",
        keys_dir=keys_dir,
        # The live server on 127.0.0.1 too: the test EHR (also on 127.0.0.1) opens it there, so
        # that the EHR's page and the portal in its frame are one site (tests/browser/test_ehr_launch.py).
        portal_urls=["http://testserver", live_server.url, loopback(live_server.url)],
        # Back-channel logout reaches the live server (node resolves "localhost" to ::1 first).
        logout_base=live_server.url.replace("//localhost:", "//127.0.0.1:"),
    )
    log = work / "devidp.log"
    with run_devidp(clients_file=clients, log=log, root=ROOT) as (issuer, process):
        yield DevIdP(issuer=issuer, keys_dir=keys_dir, process=process, log=log)


@pytest.fixture
def helseid(devidp: DevIdP, settings: Any) -> DevIdP:
    """Point the portal at devidp for this test."""
    settings.OIDC_ISSUER = devidp.issuer
    settings.OIDC_RP_PRIVATE_KEY_FILE = str(devidp.keys_dir / "portal.pem")
    settings.OIDC_RP_PRIVATE_KEY = ""
    oidc.forget_cached_metadata()
    return devidp


def idp_login(client: Client, idp: DevIdP, person: str, **overrides: str) -> requests.Response | Any:
    """The whole login over real HTTP: portal → PAR → devidp's pages → callback → portal.

    Returns the portal's response to the callback. The demo organisations and their members
    are registered first (HelseID does not know where a person works; the portal does).
    """
    demo.seed_organisations()
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302, start.content
    browser = requests.Session()
    url = start["Location"]
    for _ in range(10):
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code != 302 and response.status_code != 303:
            break
        url = urljoin(url, response.headers["Location"])
    assert response.status_code == 200, response.text
    assert "/interaction/" in url, url
    uid = urlsplit(url).path.rstrip("/").split("/")[-1]
    response = browser.post(
        f"{idp.issuer}/interaction/{uid}/login", data={"person": person, **overrides}, allow_redirects=False, timeout=10
    )
    for _ in range(10):
        location = urljoin(url, response.headers.get("Location", ""))
        if location.startswith("http://testserver/"):
            break
        assert response.status_code in (302, 303), response.text
        response = browser.get(location, allow_redirects=False, timeout=10)
        url = location
    parts = urlsplit(location)
    return client.get(parts.path, dict(parse_qsl(parts.query)))


# --- the test EHR (testehr/: SMART on FHIR EHR launch) -------------------------------------

TESTEHR_CLIENT = {"client_id": "maaledata-portal", "client_secret": "testehr-test-secret"}


@dataclass
class SmartEhr:
    origin: str
    iss: str
    log: Path

    def launch_location(self, patient: str = "p1", user: str | None = None) -> str:
        """What the EHR's "Åpne hjemmemålinger" button sends the browser to: the portal's
        /launch/?iss=…&launch=… with a fresh, single-use launch for `patient`, made by the EHR's
        user `user` (a Practitioner id in testehr; by default Ingrid Berg), who logs in there first."""
        ehr = requests.Session()
        if user is not None:
            login = ehr.post(f"{self.origin}/innlogging", data={"bruker": user}, allow_redirects=False, timeout=10)
            assert login.status_code == 303, login.text
        response = ehr.get(f"{self.origin}/ehr/launch", params={"patient": patient}, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text
        return str(response.headers["Location"])


@contextmanager
def run_testehr(portal: str, log: Path) -> Iterator[SmartEhr]:
    """testehr (npm oidc-provider as its authorization server) on a free loopback port, whose
    launch button opens the portal at `portal`; the portal is registered there (and for the test
    client)."""
    callbacks = [f"{portal}/launch/callback/", "http://testserver/launch/callback/"]
    with log.open("w") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own test EHR, from the repository
            ["node", str(ROOT / "testehr" / "server.mjs")],  # noqa: S607 - node from PATH
            cwd=ROOT,
            env={
                **os.environ,
                "TESTEHR_PORT": "0",
                "TESTEHR_CLIENT_ID": TESTEHR_CLIENT["client_id"],
                "TESTEHR_CLIENT_SECRET": TESTEHR_CLIENT["client_secret"],
                "TESTEHR_APP_LAUNCH_URL": f"{portal}/launch/",
                "TESTEHR_REDIRECT_URIS": ",".join(callbacks),
            },
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
        try:
            line = process.stdout.readline() if process.stdout else ""
            if not line.startswith("TESTEHR_READY "):
                raise RuntimeError(f"testehr did not start: {line!r}\n{log.read_text()}")
            ready = json.loads(line.removeprefix("TESTEHR_READY "))
            yield SmartEhr(origin=ready["origin"], iss=ready["iss"], log=log)
        finally:
            process.terminate()
            process.wait(timeout=10)
            if process.stdout:
                process.stdout.close()


@pytest.fixture(scope="session")
def testehr_server(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmartEhr]:
    """The test EHR for the session, opening the live server on 127.0.0.1 (its own site: a page of
    the EHR and the portal in its frame are one site)."""
    with run_testehr(loopback(live_server.url), tmp_path_factory.mktemp("testehr") / "testehr.log") as ehr:
        yield ehr


@pytest.fixture
def testehr(testehr_server: SmartEhr, settings: Any) -> SmartEhr:
    """Register the test EHR with the portal for this test (SMART_EHRS)."""
    settings.SMART_EHRS = json.dumps(
        [{"iss": testehr_server.iss, "name": "Testjournal (Lovisenberg)", **TESTEHR_CLIENT}]
    )
    return testehr_server


# --- data --------------------------------------------------------------------------------


@pytest.fixture
def oslo(db: None) -> dict[str, Any]:
    """Oslo kommune, its partners and agreements: Lovisenberg (everything), Sagene legesenter (90 days)."""
    orgs = demo.seed_organisations()
    demo.seed_agreements(orgs, today=timezone.localdate())
    return orgs


@pytest.fixture
def patient_data(oslo: dict[str, Any]) -> str:
    """Kari Nordmann with 120 days of measurements in Oslo's follow-up."""
    patient = demo.PATIENTS[0]
    now = timezone.now()
    from sharing.fhir.ingest import normalise_for
    from sharing.measurements.actions import record_measurements

    resources = list(demo.patient_observations(patient, days=120, end=timezone.localdate() - dt.timedelta(days=1)))
    record_measurements(items=[(normalise_for(r, demo.OSLO, now=now), r) for r in resources], source_orgnr=demo.OSLO)
    return patient.pid


# --- a browser's side of devidp (issue 5: login, logout, fresh logins) -------------------


class IdPBrowser:
    """What a browser keeps between visits to devidp: its cookies, so its login session (SSO).

    `start` follows the portal's redirect to devidp until devidp either shows "Velg testperson"
    (returns that page's URL) or sends the browser straight back to the portal (returns the
    callback URL). `choose` logs a person in on that page and returns the callback URL.
    """

    PORTAL = "http://testserver/"

    def __init__(self, idp: DevIdP) -> None:
        self.idp = idp
        self.http = requests.Session()

    def follow(self, url: str, response: requests.Response | None = None) -> str:
        for _ in range(10):
            if response is not None:
                if response.status_code not in (302, 303):
                    return url
                url = urljoin(url, response.headers["Location"])
            if url.startswith(self.PORTAL):
                return url
            response = self.http.get(url, allow_redirects=False, timeout=10)
        raise AssertionError(f"too many redirects, last {url}")

    def start(self, client: Client, path: str = "/oidc/authenticate/") -> str:
        demo.seed_organisations()  # the demo organisations and their members (see idp_login)
        response = client.get(path)
        assert response.status_code == 302, response.content
        return self.follow(response["Location"])

    def choose(self, page_url: str, person: str, **overrides: str) -> str:
        assert "/interaction/" in page_url, page_url
        uid = urlsplit(page_url).path.rstrip("/").split("/")[-1]
        response = self.http.post(
            f"{self.idp.issuer}/interaction/{uid}/login",
            data={"person": person, **overrides},
            allow_redirects=False,
            timeout=10,
        )
        return self.follow(page_url, response)

    @staticmethod
    def callback(client: Client, url: str) -> Any:
        parts = urlsplit(url)
        return client.get(parts.path, dict(parse_qsl(parts.query)))

    def login(self, client: Client, person: str, **overrides: str) -> Any:
        """The whole login; returns the portal's answer to the callback."""
        url = self.start(client)
        if "/interaction/" in url:
            url = self.choose(url, person, **overrides)
        return self.callback(client, url)

    def confirm_logout(self, url: str) -> str:
        """Follow the portal's logout redirect to devidp and press "Logg ut"; returns where devidp sends us."""
        page = self.http.get(url, timeout=10)
        assert page.status_code == 200, page.text
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        assert action is not None, page.text
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        response = self.http.post(
            urljoin(url, html.unescape(action.group(1))),
            data={**fields, "logout": "yes"},
            allow_redirects=False,
            timeout=10,
        )
        return self.follow(url, response)


@pytest.fixture
def idp_browser(helseid: DevIdP) -> IdPBrowser:
    return IdPBrowser(helseid)
