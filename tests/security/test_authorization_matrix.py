"""Every URL × every persona, with the status each must get: generated from the URL configuration.

The table EXPECTED is keyed by URL name and method. A URL in the configuration without an entry
fails `test_every_url_has_an_entry`, so a new page or endpoint cannot ship without someone saying
who may reach it; an entry for a URL that no longer exists fails too.

Personas (devidp/persons.json): anonymous; ingrid-berg (physician, organisation with an agreement);
per-dahl (physician, no agreement); nina-lund (nurse, no HPR number); berit-lie and tor-nes (admin
and auditor of Bærum, another municipality); astrid-holm and jonas-strand (Oslo's admin and auditor,
the positive controls); eva-ruud (Lovisenberg's organisation admin: its members page) and
sara-lunde (Lovisenberg's privacy officer, an organisation auditor: the log and queue of its own
staff, nothing else); siri-moe (system admin acting for the operator: the service admin's
organisation pages); system (VKP Oslo's client token, no session).

To see the statuses as they are now (after adding a URL): MATRIX_DISCOVER=1 pytest -s this file
prints every row; check each one before copying it into EXPECTED.

Parameters: an Oslo agreement, an Oslo reservation, an Oslo role grant, and the opaque patient
key from ingrid-berg's own lookup (in any other session it must be a 404). Bærum's people must get
404 for Oslo's objects, like a missing one: they must not learn that it exists.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from devdata import demo
from devdata.demo import seed_demo_grants
from sharing.access.members import add_member, appoint_admin
from sharing.access.roles import grant_role
from sharing.agreements.actions import record_reservation
from sharing.agreements.models import Agreement, Organisation
from sharing.core.actor import Actor, Role
from sharing.identifiers import SYSTEM_FNR
from sharing.measurements.models import PatientDeletion
from tests.conftest import PATIENT, DevIdP, idp_login

PERSONAS = (
    "anonymous",
    "ingrid-berg",
    "per-dahl",
    "nina-lund",
    "berit-lie",
    "tor-nes",
    "system",
    "jonas-strand",
    "eva-ruud",  # organisation admin of Lovisenberg (its members page)
    "sara-lunde",
    "astrid-holm",  # her POSTs may change Oslo's agreements and roles
    "siri-moe",  # last: system admin acting for the operator; her POSTs end an admin appointment
)
# Requested last for each persona, since they end or disturb the session.
LAST = ("oidc_authentication_callback", "logout")


def row(*statuses: int) -> dict[str, int]:
    assert len(statuses) == len(PERSONAS)
    return dict(zip(PERSONAS, statuses, strict=True))


# Columns: anonymous, ingrid-berg, per-dahl, nina-lund, berit-lie, tor-nes, system, jonas-strand, eva-ruud,
# sara-lunde, astrid-holm, siri-moe. Siri Moe comes after Astrid Holm, who has revoked the role by then (404).
# 302 for anonymous and the system client on portal pages is the redirect to login (no session);
# 401 on the API for every session is right: the API takes tokens only, never the portal's cookie.
# Bærum's admin gets 404 for Oslo's agreement, reservation and role, as for one that does not exist.
# POSTs with an empty form change nothing (200 with errors, or 403/404/405) except astrid-holm's
# lift and revoke, which she may do (302). The opaque patient key is valid only in ingrid's session.
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    # The EHR launch is public (an EHR opens it before any login) and refuses, with a page (400),
    # a launch without iss and launch, an answer with no launch of this session, and a confirm
    # key that is no launch waiting in this session (the patient key here is none).
    ("launch", "GET"): row(400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    ("launch", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("launch-callback", "GET"): row(400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    ("launch-callback", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("launch-confirm", "GET"): row(400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    ("launch-confirm", "POST"): row(400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    # The frame takes a login its window offered only while it waits on a launch (none here: 400).
    ("launch-join", "GET"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("launch-join", "POST"): row(400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    # The login window offers its own session's login (to the frame that opened it), whoever it is.
    ("launch-logged-in", "GET"): row(302, 200, 200, 200, 200, 200, 302, 200, 200, 200, 200, 200),
    ("launch-logged-in", "POST"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    # Identity links: a municipality's admins, each for their own municipality (an empty POST is a fresh form).
    ("agreements_admin:identities", "GET"): row(302, 403, 403, 403, 200, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:identities", "POST"): row(302, 403, 403, 403, 200, 403, 302, 403, 403, 403, 200, 403),
    # The processor's register: the service admin only (siri-moe; an empty POST changes nothing).
    ("agreements_admin:register", "GET"): row(302, 403, 403, 403, 403, 403, 302, 403, 403, 403, 403, 200),
    ("agreements_admin:register", "POST"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("agreements_admin:register-sender", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("agreements_admin:register-sender", "POST"): row(302, 403, 403, 403, 403, 403, 302, 403, 403, 403, 403, 400),
    ("agreements_admin:register-sender-end", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("agreements_admin:register-sender-end", "POST"): row(302, 403, 403, 403, 403, 403, 302, 403, 403, 403, 403, 404),
    ("agreements_admin:register-agreement", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("agreements_admin:register-agreement", "POST"): row(302, 403, 403, 403, 403, 403, 302, 403, 403, 403, 403, 400),
    ("agreements_admin:register-agreement-end", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("agreements_admin:register-agreement-end", "POST"): row(
        302, 403, 403, 403, 403, 403, 302, 403, 403, 403, 403, 404
    ),
    ("agreements_admin:activate", "GET"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:activate", "POST"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:create", "GET"): row(302, 403, 403, 403, 200, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:create", "POST"): row(302, 403, 403, 403, 200, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:detail", "GET"): row(302, 403, 403, 403, 404, 404, 302, 200, 403, 403, 200, 403),
    ("agreements_admin:detail", "POST"): row(302, 403, 403, 403, 404, 404, 302, 200, 403, 403, 200, 403),
    ("agreements_admin:edit", "GET"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:edit", "POST"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:list", "GET"): row(302, 403, 403, 403, 200, 200, 302, 200, 403, 403, 200, 403),
    ("agreements_admin:list", "POST"): row(302, 403, 403, 403, 200, 200, 302, 200, 403, 403, 200, 403),
    ("agreements_admin:processing", "GET"): row(302, 403, 403, 403, 200, 200, 302, 200, 403, 403, 200, 403),
    ("agreements_admin:processing", "POST"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("agreements_admin:quality", "GET"): row(302, 403, 403, 403, 200, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:quality", "POST"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("agreements_admin:deletions", "GET"): row(302, 403, 403, 403, 200, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:deletions", "POST"): row(302, 403, 403, 403, 200, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:deletion-confirm", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("agreements_admin:deletion-confirm", "POST"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 302, 403),
    ("agreements_admin:reservation-lift", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("agreements_admin:reservation-lift", "POST"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 302, 403),
    ("agreements_admin:reservations", "GET"): row(302, 403, 403, 403, 200, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:reservations", "POST"): row(302, 403, 403, 403, 200, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:resume", "GET"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:resume", "POST"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:role-revoke", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("agreements_admin:role-revoke", "POST"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 302, 404),
    ("agreements_admin:roles", "GET"): row(302, 403, 403, 403, 200, 403, 302, 403, 403, 403, 200, 200),
    ("agreements_admin:roles", "POST"): row(302, 403, 403, 403, 200, 403, 302, 403, 403, 403, 200, 200),
    ("agreements_admin:suspend", "GET"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:suspend", "POST"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:terminate", "GET"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 200, 403),
    ("agreements_admin:terminate", "POST"): row(302, 403, 403, 403, 404, 403, 302, 403, 403, 403, 200, 403),
    ("auditor:log", "GET"): row(302, 403, 403, 403, 403, 200, 302, 200, 403, 200, 403, 403),
    ("auditor:log", "POST"): row(302, 403, 403, 403, 403, 302, 302, 302, 403, 302, 403, 403),  # to its GET
    ("auditor:mark", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("auditor:mark", "POST"): row(302, 403, 403, 403, 403, 302, 302, 302, 403, 302, 403, 403),
    ("auditor:report", "GET"): row(302, 403, 403, 403, 403, 200, 302, 200, 403, 200, 403, 403),
    ("auditor:report", "POST"): row(302, 403, 403, 403, 403, 200, 302, 200, 403, 200, 403, 403),
    ("auditor:review", "GET"): row(302, 403, 403, 403, 403, 200, 302, 200, 403, 200, 403, 403),
    ("auditor:review", "POST"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("clinician:export", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("clinician:export", "POST"): row(302, 200, 404, 404, 404, 404, 302, 404, 404, 404, 404, 404),
    ("clinician:journal", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("clinician:journal", "POST"): row(302, 200, 404, 404, 404, 404, 302, 404, 404, 404, 404, 404),
    ("clinician:patient", "GET"): row(302, 200, 404, 404, 404, 404, 302, 404, 404, 404, 404, 404),
    ("clinician:patient", "POST"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("clinician:reopen", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("clinician:reopen", "POST"): row(302, 302, 404, 404, 404, 404, 302, 404, 404, 404, 404, 404),
    ("clinician:search", "GET"): row(302, 200, 200, 403, 302, 302, 302, 302, 302, 302, 302, 302),
    ("clinician:search", "POST"): row(302, 200, 200, 200, 200, 200, 302, 200, 200, 200, 200, 200),
    ("clinician:series", "GET"): row(302, 200, 404, 404, 404, 404, 302, 404, 404, 404, 404, 404),
    ("clinician:series", "POST"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("fhir-system", "GET"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir-system", "POST"): row(401, 401, 401, 401, 401, 401, 400, 401, 401, 401, 401, 401),
    ("fhir:auditevent-search", "GET"): row(401, 401, 401, 401, 401, 401, 403, 401, 401, 401, 401, 401),
    ("fhir:auditevent-search", "POST"): row(401, 401, 401, 401, 401, 401, 403, 401, 401, 401, 401, 401),
    ("fhir:export", "GET"): row(401, 401, 401, 401, 401, 401, 403, 401, 401, 401, 401, 401),
    ("fhir:export", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir:export-file", "GET"): row(401, 401, 401, 401, 401, 401, 403, 401, 401, 401, 401, 401),
    ("fhir:export-file", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir:export-status", "GET"): row(401, 401, 401, 401, 401, 401, 403, 401, 401, 401, 401, 401),
    ("fhir:export-status", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir:metadata", "GET"): row(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("fhir:metadata", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir:observation-create", "GET"): row(401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401),
    ("fhir:observation-create", "POST"): row(401, 401, 401, 401, 401, 401, 400, 401, 401, 401, 401, 401),
    ("fhir:observation-lastn", "GET"): row(401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401),
    ("fhir:observation-lastn", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir:observation-search", "GET"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir:observation-search", "POST"): row(401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401),
    ("fhir:observation-history", "GET"): row(401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401),
    ("fhir:observation-history", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir:observation-update", "GET"): row(401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401),
    ("fhir:observation-update", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir:observation-update", "PUT"): row(401, 401, 401, 401, 401, 401, 400, 401, 401, 401, 401, 401),
    ("fhir:observation-vread", "GET"): row(401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401),
    ("fhir:observation-vread", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir:openapi", "GET"): row(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("fhir:openapi", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir:system", "GET"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("fhir:system", "POST"): row(401, 401, 401, 401, 401, 401, 400, 401, 401, 401, 401, 401),
    ("favicon", "GET"): row(301, 301, 301, 301, 301, 301, 301, 301, 301, 301, 301, 301),
    ("favicon", "POST"): row(301, 301, 301, 301, 301, 301, 301, 301, 301, 301, 301, 301),
    ("login", "GET"): row(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("login", "POST"): row(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("login-fresh", "GET"): row(302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    ("login-fresh", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("login-refused", "GET"): row(403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    ("login-refused", "POST"): row(403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    ("login-unit", "GET"): row(302, 200, 200, 200, 200, 200, 302, 200, 200, 200, 200, 200),
    ("login-unit", "POST"): row(302, 400, 400, 400, 400, 400, 302, 400, 400, 400, 400, 400),
    ("login-no-membership", "GET"): row(302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    ("login-no-membership", "POST"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("login-unit-refused", "GET"): row(302, 403, 403, 403, 403, 403, 302, 403, 403, 403, 403, 403),
    ("login-unit-refused", "POST"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("service:organisations", "GET"): row(302, 403, 403, 403, 403, 403, 302, 403, 403, 403, 403, 200),
    ("service:organisations", "POST"): row(302, 403, 403, 403, 403, 403, 302, 403, 403, 403, 403, 200),
    ("service:organisation", "GET"): row(302, 403, 403, 403, 403, 403, 302, 403, 403, 403, 403, 200),
    ("service:organisation", "POST"): row(302, 403, 403, 403, 403, 403, 302, 403, 403, 403, 403, 400),
    ("service:admin-remove", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("service:admin-remove", "POST"): row(302, 403, 403, 403, 403, 403, 302, 403, 403, 403, 403, 302),
    ("members", "GET"): row(302, 403, 403, 403, 403, 403, 302, 403, 200, 403, 403, 403),
    ("members", "POST"): row(302, 403, 403, 403, 403, 403, 302, 403, 400, 403, 403, 403),
    ("member-end", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("member-end", "POST"): row(302, 403, 403, 403, 403, 403, 302, 403, 302, 403, 403, 403),
    ("oidc_authentication_init", "GET"): row(302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    ("oidc_authentication_init", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("set_language", "GET"): row(302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    ("set_language", "POST"): row(302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    ("oidc_authentication_callback", "GET"): row(302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    ("oidc_authentication_callback", "POST"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    # HelseID's server-to-server call: no session counts, only a valid logout token (none here: 400).
    ("oidc-backchannel-logout", "GET"): row(405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405, 405),
    ("oidc-backchannel-logout", "POST"): row(400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    ("logout", "GET"): row(302, 405, 405, 405, 405, 405, 302, 405, 405, 405, 405, 405),
    ("logout", "POST"): row(302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
}


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    """(route, name) for every named URL, through includes."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace + (pattern.name or f"<unnamed {pattern.pattern}>")


def url_names() -> set[str]:
    return {name for _route, name in walk(get_resolver().url_patterns)}


METHODS = ("GET", "POST")
EXTRA = {("fhir:observation-update", "PUT")}
FHIR_JSON = "application/fhir+json"


def test_every_url_has_an_entry() -> None:
    names = url_names()
    wanted = {(name, method) for name in names for method in METHODS} | EXTRA
    missing = sorted(f"{name} {method}" for name, method in wanted if (name, method) not in EXPECTED)
    stale = sorted(f"{name} {method}" for name, method in EXPECTED if name not in names)
    assert not missing, f"URLs with no entry in the authorization matrix: {missing}"
    assert not stale, f"Entries for URLs that no longer exist: {stale}"
    assert all(set(statuses) == set(PERSONAS) for statuses in EXPECTED.values())


def _world() -> dict[str, Any]:
    seeder = Actor(name="seed", client_id="test")
    seed_demo_grants(by=seeder)
    oslo = Organisation.objects.get(orgnr=demo.OSLO)
    role = grant_role(pid="04916517721", role=Role.AUDITOR, municipality=oslo, by=seeder)
    reservation = record_reservation(
        municipality=oslo,
        patient_value="14904839826",
        objected_on=timezone.localdate() - dt.timedelta(days=1),
        consumers=[Organisation.objects.get(orgnr=demo.FJORDVIK)],
        by=seeder,
    )
    agreement = Agreement.objects.get(controller=oslo, consumer__orgnr=demo.SAGENE_GP)
    deletion = PatientDeletion.objects.create(
        municipality_orgnr=demo.OSLO,
        patient_system=SYSTEM_FNR,
        patient_value="14904839826",
        instruction="matrix",
        requested_by="Ola Hansen",
        requested_by_pid="04916517721",
    )
    # A Lovisenberg member nobody else needs: the one eva-ruud may end (member-end).
    member = add_member(
        organisation=Organisation.objects.get(orgnr=demo.LOVISENBERG),
        unit=None,
        pid="",
        hpr_number="565599990",
        valid_from=timezone.localdate(),
        valid_to=None,
        by=seeder,
    )
    # An admin appointment of Lovisenberg's for the service admin's remove (not Eva Ruud's own).
    appointed = appoint_admin(
        organisation=Organisation.objects.get(orgnr=demo.LOVISENBERG),
        pid="04916517721",
        valid_from=timezone.localdate(),
        by=seeder,
    )
    return {
        "agreement": agreement.pk,
        "reservation": reservation.pk,
        "role": role.pk,
        "deletion": deletion.pk,
        "membership": member.pk,
        "admin": appointed.pk,
    }


def _kwargs(route: str, name: str, world: dict[str, Any], key: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if "key" in route:
        kwargs["key"] = key
    if "kind" in route:
        kwargs["kind"] = "heart_rate"
    if "vid" in route:
        kwargs["vid"] = "1"
    if "orgnr" in route:
        kwargs["orgnr"] = demo.LOVISENBERG
    if "pk" in route:
        if name == "service:admin-remove":
            kwargs["pk"] = world["admin"]
        elif name.startswith("agreements_admin:register-"):
            kwargs["pk"] = 999_999  # no such sender authorisation or processing agreement: the service admin's 404
        elif name.startswith("fhir:observation-"):
            kwargs["pk"] = "matrix-1"
        elif name.startswith("fhir:export"):
            kwargs["pk"] = "00000000-0000-4000-8000-000000000001"
        elif name.startswith("agreements_admin:reservation"):
            kwargs["pk"] = world["reservation"]
        elif name.startswith("agreements_admin:role"):
            kwargs["pk"] = world["role"]
        elif name.startswith("agreements_admin:deletion"):
            kwargs["pk"] = world["deletion"]
        elif name == "member-end":
            kwargs["pk"] = world["membership"]
        else:
            kwargs["pk"] = world["agreement"]
    return kwargs


def _clients(idp: DevIdP) -> dict[str, Client]:
    clients = {"anonymous": Client(), "system": Client(HTTP_AUTHORIZATION=f"Bearer {idp.system_token('vkp-oslo')}")}
    for person in PERSONAS:
        if person not in clients:
            clients[person] = Client()
            idp_login(clients[person], idp, person)
    return clients


def _request(client: Client, method: str, url: str, name: str) -> HttpResponseBase:
    if name.startswith("fhir"):
        body = "{}" if method != "GET" else None
        extra = {"HTTP_ACCEPT": FHIR_JSON}
        if body is None:
            return client.generic(method, url, **extra)
        return client.generic(method, url, body, content_type=FHIR_JSON, **extra)
    if method == "POST":
        return client.post(url, {})
    return client.generic(method, url)


@pytest.mark.django_db(transaction=True)
def test_every_persona_gets_the_expected_status_on_every_url(helseid: DevIdP, patient_data: str) -> None:
    world = _world()
    clients = _clients(helseid)
    opened = clients["ingrid-berg"].post("/", {"national_id": PATIENT, "basis": "care", "reason": "Innlagt"})
    assert opened.status_code == 302
    key = opened["Location"].strip("/").split("/")[1]
    routes = sorted(
        walk(get_resolver().url_patterns),
        key=lambda rn: (rn[1] in LAST, LAST.index(rn[1]) if rn[1] in LAST else 0, rn[1]),
    )
    wanted = sorted({(name, method) for _r, name in routes for method in METHODS} | EXTRA)
    route_of = dict((name, route) for route, name in routes)
    order = {name: i for i, (_r, name) in enumerate(routes)}
    wanted.sort(key=lambda nm: (order[nm[0]], nm[1]))
    actual: dict[tuple[str, str], dict[str, int]] = {}
    stored: list[str] = []
    for person in PERSONAS:
        for name, method in wanted:
            url = reverse(name, kwargs=_kwargs(route_of[name], name, world, key))
            response = _request(clients[person], method, url, name)
            actual.setdefault((name, method), {})[person] = response.status_code
            if response.get("Cache-Control") != "no-store":
                stored.append(f"{name} {method} as {person}: Cache-Control {response.get('Cache-Control')!r}")
    if os.environ.get("MATRIX_DISCOVER"):
        for (name, method), statuses in actual.items():
            print(f"    ({name!r}, {method!r}): row({', '.join(str(statuses[p]) for p in PERSONAS)}),")
    wrong = [
        f"{name} {method} as {person}: expected {EXPECTED.get((name, method), {}).get(person)}, got {status}"
        for (name, method), statuses in actual.items()
        for person, status in statuses.items()
        if EXPECTED.get((name, method), {}).get(person) != status
    ]
    assert not wrong, "\n".join(wrong)
    # Whatever the answer (page, file, redirect, refusal, error), no browser or proxy may keep it.
    assert not stored, "\n".join(stored)
