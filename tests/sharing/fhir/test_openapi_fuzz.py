"""schemathesis drives the live FHIR API from its OpenAPI description (sharing/fhir/openapi/).

Every generated request (the description's examples, in `make soak` schemathesis's coverage
cases, then random ones, valid and invalid) goes over real HTTP to the live server with real
tokens from devidp: VKP Oslo's client token for ingest, a DPoP-bound token of Ingrid Berg's (a
fresh proof for each request, made as it is sent) for reads, an audit system's token for AuditEvent.
Each answer must hold to the description: never a 5xx; a documented status, content type,
headers and body. And nothing is half-stored: a refused request (4xx) leaves the measurement
tables as they were, and a successful write adds exactly one row per "201 Created" it reports.
A 401 for a token devidp issued (with a proof made for that very request) fails too, so a run
cannot pass on refusals alone.

FHIR_FUZZ_CASES sets the budget of random cases (default 300 in `make test`; `make soak` runs
5,000), shared out over the operations that take input. FHIR_FUZZ_REPORT names a JSON file for
the counts (`make soak` keeps var/soak/fuzz.json).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import jwt
import pytest
import requests
import schemathesis
from schemathesis import checks

from portal.login.devclient import DpopAuth, DpopKey, epj_user_token
from sharing.fhir.openapi import document
from sharing.fhir.openapi.components import example_observation
from sharing.measurements.models import Measurement, MeasurementVersion, RawResource
from tests.sharing.audit.conftest import AUDIT_SCOPE, audit_api, audit_idp

from .conftest import FUZZ_SUMMARY

__all__ = ["audit_api", "audit_idp"]  # fixtures, imported for the AuditEvent run

pytestmark = pytest.mark.django_db(transaction=True)

CASES = int(os.environ.get("FHIR_FUZZ_CASES", "300"))
# The bounded run in `make test` is the same every time; `make soak` draws a new seed and prints it.
SEED = int(os.environ.get("FHIR_FUZZ_SEED", "20261125"))
# schemathesis's coverage phase (boundary values, missing and extra parts, other methods) adds some
# 3,700 deterministic cases, two to three minutes here: `make soak` runs it, `make test` does not.
COVERAGE = os.environ.get("FHIR_FUZZ_COVERAGE", "") == "1"
REPORT = os.environ.get("FHIR_FUZZ_REPORT", "")
INGEST = ["batch", "batch-slash", "create", "update"]
READS = ["search", "search-post", "lastn", "read"]
AUDIT = "auditevent-search"
# The random budget is shared out evenly over the operations that take input (metadata and
# openapi.json take none: a few cases exhaust them).
OPERATIONS = sum(
    bool(item.get("parameters") or operation.get("parameters") or operation.get("requestBody"))
    for item in document()["paths"].values()
    for method, operation in item.items()
    if method != "parameters"
)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.unsupported_method,
    checks.allow_header_conformance,
    checks.ignored_auth,
]
SEEN: Counter[tuple[str, int]] = Counter()
ISSUED: set[str] = set()  # every access token the run got from devidp

api = schemathesis.pytest.from_fixture("fhir_api")
audit = schemathesis.pytest.from_fixture("audit_fhir_api")


class Token:
    """An access token, fetched again shortly before it expires: devidp's last five minutes, a soak longer."""

    def __init__(self, fetch: Callable[[], str]) -> None:
        self.fetch, self.token, self.expires = fetch, "", 0.0

    def __call__(self) -> str:
        if time.time() > self.expires - 30:
            self.token = self.fetch()
            ISSUED.add(self.token)
            self.expires = float(jwt.decode(self.token, options={"verify_signature": False})["exp"])
        return self.token


class GeneratedBasis(DpopAuth):
    """DpopAuth (a fresh proof for this method and URL, made as the request is sent), keeping the
    access basis and reason schemathesis generated rather than DpopAuth's defaults."""

    def __init__(self, token: Token, key: DpopKey) -> None:
        super().__init__("", key)
        self.current = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self.token = self.current()
        generated = {h: request.headers[h] for h in ("X-Access-Basis", "X-Access-Reason") if h in request.headers}
        super().__call__(request)
        for header in ("X-Access-Basis", "X-Access-Reason"):
            request.headers.pop(header, None)
        request.headers.update(generated)
        return request


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: Token) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


def _load(base_url: str) -> Any:
    """The description as this live server serves it; valid and invalid requests (mode all)."""
    config = schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": max(CASES // OPERATIONS, 1)},
            # No links between operations are described, so there is nothing for the stateful phase.
            "phases": {"coverage": {"enabled": COVERAGE}, "stateful": {"enabled": False}},
        }
    )
    return schemathesis.openapi.from_dict(document(server_url=base_url), config=config)


@pytest.fixture
def vkp_token(helseid: Any) -> Token:
    return Token(lambda: str(helseid.system_token("vkp-oslo")))


@pytest.fixture
def fhir_api(live_server: Any, helseid: Any, vkp_token: Token, patient_data: str, settings: Any) -> Any:
    """The description, with VKP Oslo's token on ingest and Ingrid Berg's DPoP-bound token on reads."""
    # Hundreds of searches by one person in a minute: the hourly lookup limit has its own tests.
    settings.LOOKUP_RATE_LIMIT_PER_HOUR = 0
    schema = _load(live_server.url)
    key = DpopKey()
    ingrid = Token(lambda: epj_user_token(helseid, "ingrid-berg", key))
    schema.auth.set_from_requests(Bearer(vkp_token)).apply_to(operation_id=INGEST)
    schema.auth.set_from_requests(GeneratedBasis(ingrid, key)).apply_to(operation_id=READS)
    return schema


@pytest.fixture
def audit_fhir_api(live_server: Any, audit_api: Any, oslo: Any) -> Any:
    """The description, with Oslo's audit system's token on AuditEvent."""
    schema = _load(live_server.url)
    token = Token(lambda: str(audit_api.system_token("revisjon-oslo", scope=AUDIT_SCOPE)))
    schema.auth.set_from_requests(Bearer(token)).apply_to(operation_id=AUDIT)
    return schema


def _stored() -> tuple[int, int, int]:
    return Measurement.objects.count(), RawResource.objects.count(), MeasurementVersion.objects.count()


def _created(response: Any) -> int:
    """How many Observations the answer says were created ("201 Created")."""
    if response.status_code == 201:
        return 1
    body = response.json() if response.status_code == 200 and response.content else {}
    if body.get("resourceType") != "Bundle" or not str(body.get("type", "")).endswith("-response"):
        return 0
    return sum(str(e.get("response", {}).get("status", "")).startswith("201") for e in body.get("entry", []))


def _call_and_check(case: Any) -> None:
    before = _stored()
    response = case.call(timeout=60)
    SEEN[(case.operation.label, response.status_code)] += 1
    case.validate_response(response, checks=_checks(case, response))
    sent = response.request.headers.get("Authorization", "").partition(" ")[2]
    # A 401 for a token devidp issued and a proof made for this very request: ours or the run's fault.
    assert not (response.status_code == 401 and sent in ISSUED), response.text
    after = _stored()
    if response.status_code >= 400:
        assert after == before, f"{case.operation.label} answered {response.status_code} but changed the tables"
    else:
        created = _created(response)
        assert after[0] - before[0] == created, f"{case.operation.label}: {after} after {before}, {created} created"
        assert after[1] - before[1] == created


def _checks(case: Any, response: Any) -> list[Any]:
    """All of CHECKS, but a write answered as Prefer: return=minimal asks has no body (which OpenAPI cannot
    tie to a header's value), so its content type and body are checked here: there are none."""
    minimal = "return=minimal" in str((case.headers or {}).get("Prefer", ""))
    if not (minimal and response.status_code in (200, 201)):
        return CHECKS
    assert response.content == b""
    assert "Content-Type" not in response.headers
    return [c for c in CHECKS if c not in (checks.content_type_conformance, checks.response_schema_conformance)]


FUZZ = hypothesis.settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
    ],
)


@api.exclude(operation_id=AUDIT).parametrize()
@FUZZ
def test_the_api_answers_as_described(case: Any, report: None) -> None:
    _call_and_check(case)


@audit.include(operation_id=AUDIT).parametrize()
@FUZZ
def test_the_access_log_api_answers_as_described(case: Any, report: None) -> None:
    _call_and_check(case)


def test_an_oversized_body_gets_the_described_413(live_server: Any, vkp_token: Token, oslo: Any, settings: Any) -> None:
    """Random cases stay small, so the body limit gets its own case: 413, an OperationOutcome, nothing stored."""
    settings.FHIR_MAX_BODY_BYTES = 2000
    padding = [{"text": "x" * 3000}]
    bodies = {
        "create": {**example_observation(), "note": padding},
        "update": {**example_observation(), "note": padding},
        "batch": {"resourceType": "Bundle", "type": "batch", "entry": [], "padding": padding},
    }
    before = _stored()
    for operation_id, body in bodies.items():
        operation = _load(live_server.url).find_operation_by_id(operation_id)
        path = {"id": "vkp-too-large"} if operation_id == "update" else {}
        case = operation.Case(body=body, media_type="application/fhir+json", path_parameters=path)
        response = case.call(headers={"Authorization": f"Bearer {vkp_token()}"}, timeout=60)
        assert response.status_code == 413, (operation_id, response.text)
        case.validate_response(response, checks=CHECKS)
    assert _stored() == before


@pytest.fixture(scope="module")
def report(pytestconfig: pytest.Config) -> Iterator[None]:
    """The numbers of the run, on the terminal and (FHIR_FUZZ_REPORT) in a file: cases, statuses, time."""
    started = time.monotonic()
    yield
    statuses = Counter(status for (_op, status) in SEEN.elements())
    summary = {
        "cases": sum(SEEN.values()),
        "seconds": round(time.monotonic() - started, 1),
        "seed": SEED,
        "budget": CASES,
        "coverage_phase": COVERAGE,
        "statuses": dict(sorted(statuses.items())),
        "by_operation": {
            label: dict(sorted((s, n) for (op, s), n in SEEN.items() if op == label))
            for label in sorted({op for op, _s in SEEN})
        },
    }
    line = {k: summary[k] for k in ("cases", "seconds", "seed", "statuses")}
    pytestconfig.stash[FUZZ_SUMMARY] = f"schemathesis: {json.dumps(line)}"
    if REPORT:
        Path(REPORT).parent.mkdir(parents=True, exist_ok=True)
        Path(REPORT).write_text(json.dumps(summary, indent=1) + "\n")
