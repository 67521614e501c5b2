"""Every error the API words itself follows one rule (docs/fhir-api.md, "Errors and their language").

Each OperationOutcome issue carries a stable code in `details.coding`, and `diagnostics` equal to
`details.text`, in Norwegian by default and in English when Accept-Language prefers it: the
search-parameter errors, DRF's own (parse errors, method not allowed, unsupported media type, not
acceptable, authentication), a URL that names nothing, the hourly limit and the refusals; on the
system side every validation issue of a submitted Observation or Bundle (a batch-response's entries
too), the size limits, a sender authorised for nothing and the $export errors. The AuditEvent
search's are in tests/sharing/audit/test_fhir_auditevent.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from devdata import demo
from portal.login.devclient import DpopAuth, DpopKey, epj_user_token
from sharing.fhir.ingest import KOMMUNENUMMER
from sharing.fhir.models import ExportJob
from sharing.identifiers import SYSTEM_FNR

from .ingest_helpers import PER, Api, blood_pressure, bundle, entry, heart_rate
from .languages import same_answer_in_two_languages
from .test_export import exporter

pytestmark = pytest.mark.django_db(transaction=True)
ERROR_SYSTEM = "https://maaledata.no/fhir/CodeSystem/api-error"
DENIAL_SYSTEM = "https://maaledata.no/fhir/CodeSystem/access-denial"
MISSING = "00000000-0000-4000-8000-000000000000"


def _issue(response: requests.Response) -> tuple[str, str, str]:
    """(system, code, diagnostics) of the one issue, after checking details.text is the diagnostics."""
    assert response.headers["Content-Type"].startswith("application/fhir+json"), response.headers
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    [issue] = body["issue"]
    [coding] = issue["details"]["coding"]
    assert issue["details"]["text"] == issue["diagnostics"]
    return coding["system"], coding["code"], issue["diagnostics"]


@pytest.fixture
def reader(live_server: Any, helseid: Any, patient_data: str) -> Any:
    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    patient = f"{SYSTEM_FNR}|{patient_data}"

    def call(case: str, language: str | None) -> requests.Response:
        headers = {"Accept-Language": language} if language else {}
        base = f"{live_server.url}/fhir"
        auth = DpopAuth(token, key)

        def search(params: dict[str, str], path: str = "Observation", **extra: Any) -> requests.Response:
            return requests.get(f"{base}/{path}", params=params, headers=headers, auth=auth, timeout=10, **extra)

        cases = {
            "param-unknown": lambda: search({"patient.identifier": patient, "colour": "blue"}),
            "patient-required": lambda: search({}),
            "patient-invalid": lambda: search({"patient.identifier": f"{SYSTEM_FNR}|12345678901"}),
            "count-invalid": lambda: search({"patient.identifier": patient, "_count": "many"}),
            "date-invalid": lambda: search({"patient.identifier": patient, "date": "ge2026-13-45"}),
            "sort-invalid": lambda: search({"patient.identifier": patient, "_sort": "colour"}),
            "category-unknown": lambda: search({"patient.identifier": patient, "category": "imaging"}),
            "format-invalid": lambda: search({"patient.identifier": patient, "_format": "xml"}),
            "cursor-invalid": lambda: search({"patient.identifier": patient, "_cursor": "forged"}),
            "last-updated-prefix": lambda: search({"patient.identifier": patient, "_lastUpdated": "2026-01-01"}),
            "max-invalid": lambda: search({"patient.identifier": patient, "max": "0"}, path="Observation/$lastn"),
            "basis-invalid": lambda: requests.get(
                f"{base}/Observation",
                params={"patient.identifier": patient},
                headers=headers,
                auth=DpopAuth(token, key, basis="curiosity"),
                timeout=10,
            ),
            "not-found": lambda: search({}, path=f"Observation/{MISSING}"),
            "no-such-url": lambda: search({}, path="Patient"),
            "method-not-allowed": lambda: requests.delete(f"{base}/Observation", headers=headers, timeout=10),
            "method-not-allowed-drf": lambda: requests.patch(f"{base}/metadata", headers=headers, timeout=10),
            "not-acceptable": lambda: requests.get(
                f"{base}/metadata", headers={**headers, "Accept": "application/xml"}, timeout=10
            ),
            "unsupported-media-type": lambda: requests.post(
                f"{base}/Observation/_search",
                data="patient.identifier=x",
                headers={**headers, "Content-Type": "text/plain"},
                auth=auth,
                timeout=10,
            ),
            "token-missing": lambda: requests.get(
                f"{base}/Observation", params={"patient.identifier": patient}, headers=headers, timeout=10
            ),
            "authorization-scheme": lambda: requests.get(
                f"{base}/Observation", headers={**headers, "Authorization": "Basic x"}, timeout=10
            ),
            "token-invalid": lambda: requests.get(
                f"{base}/Observation", headers={**headers, "Authorization": "Bearer not.a.token"}, timeout=10
            ),
            "dpop-proof-missing": lambda: requests.get(
                f"{base}/Observation", headers={**headers, "Authorization": f"DPoP {token}"}, timeout=10
            ),
            "reason-required": lambda: requests.get(
                f"{base}/Observation",
                params={"patient.identifier": patient},
                headers=headers,
                auth=DpopAuth(token, key, basis="emergency", reason=""),
                timeout=10,
            ),
        }
        return cases[case]()

    return call


CASES = {
    # case: (status, system, code)
    "param-unknown": (400, ERROR_SYSTEM, "param-unknown"),
    "patient-required": (400, ERROR_SYSTEM, "patient-required"),
    "patient-invalid": (400, ERROR_SYSTEM, "patient-invalid"),
    "count-invalid": (400, ERROR_SYSTEM, "count-invalid"),
    "date-invalid": (400, ERROR_SYSTEM, "date-invalid"),
    "sort-invalid": (400, ERROR_SYSTEM, "sort-invalid"),
    "category-unknown": (400, ERROR_SYSTEM, "category-unknown"),
    "format-invalid": (400, ERROR_SYSTEM, "format-invalid"),
    "cursor-invalid": (400, ERROR_SYSTEM, "cursor-invalid"),
    "last-updated-prefix": (400, ERROR_SYSTEM, "last-updated-prefix"),
    "max-invalid": (400, ERROR_SYSTEM, "max-invalid"),
    "basis-invalid": (400, ERROR_SYSTEM, "basis-invalid"),
    "not-found": (404, ERROR_SYSTEM, "not-found"),
    "no-such-url": (404, ERROR_SYSTEM, "no-such-url"),
    "method-not-allowed": (405, ERROR_SYSTEM, "method-not-allowed"),
    "method-not-allowed-drf": (405, ERROR_SYSTEM, "method-not-allowed"),
    "not-acceptable": (406, ERROR_SYSTEM, "not-acceptable"),
    "unsupported-media-type": (415, ERROR_SYSTEM, "unsupported-media-type"),
    "token-missing": (401, ERROR_SYSTEM, "token-missing"),
    "authorization-scheme": (401, ERROR_SYSTEM, "authorization-scheme"),
    "token-invalid": (401, ERROR_SYSTEM, "token-invalid"),
    "dpop-proof-missing": (401, ERROR_SYSTEM, "dpop-proof-missing"),
    "reason-required": (400, DENIAL_SYSTEM, "reason-required"),
}


def test_every_error_path_is_coded_and_worded_in_the_callers_language(reader: Any) -> None:
    for case, (status, system, code) in CASES.items():
        norwegian, english, danish = reader(case, None), reader(case, "en-GB,en;q=0.9"), reader(case, "da")
        assert norwegian.status_code == english.status_code == status, (case, norwegian.text)
        nb, en, da = _issue(norwegian), _issue(english), _issue(danish)
        assert nb[:2] == en[:2] == da[:2] == (system, code), (case, nb, en)
        # Norwegian by default (and for a language we do not speak), English on request: a
        # message left untranslated would read the same in both.
        assert nb[2] != en[2], (case, nb[2])
        assert da[2] == nb[2], case
        assert "Ã" not in nb[2], case


def test_the_hourly_limit_is_coded_and_worded_too(live_server: Any, helseid: Any, patient_data: str, settings: Any):
    settings.LOOKUP_RATE_LIMIT_PER_HOUR = 1
    key = DpopKey()
    token = epj_user_token(helseid, "ingrid-berg", key)
    url = f"{live_server.url}/fhir/Observation"
    params = {"patient.identifier": f"{SYSTEM_FNR}|{patient_data}"}
    assert requests.get(url, params=params, auth=DpopAuth(token, key), timeout=10).status_code == 200
    norwegian = requests.get(url, params=params, auth=DpopAuth(token, key), timeout=10)
    english = requests.get(url, params=params, headers={"Accept-Language": "en"}, auth=DpopAuth(token, key), timeout=10)
    assert norwegian.status_code == english.status_code == 429
    assert _issue(norwegian)[:2] == _issue(english)[:2] == (ERROR_SYSTEM, "lookup-limit")
    assert _issue(norwegian)[2].startswith("For mange oppslag")
    assert _issue(english)[2].startswith("Too many lookups")


# --- Ingest, Bundles and $export: the system side ---------------------------------------------------

Ask = Callable[[dict[str, str]], requests.Response]


def _without(resource: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != key}


def _with(resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**resource, **changes}


def _unit(resource: dict[str, Any], unit: str) -> dict[str, Any]:
    return _with(resource, valueQuantity={**resource["valueQuantity"], "unit": unit, "code": unit})


def _ingest_cases(api: Api) -> dict[str, tuple[Ask, int, tuple[str, ...]]]:
    """case: (ask with these headers, status, codes among the issues). Each ask builds its body anew
    (a new identifier), so the three asks get the same answer, not "already stored"."""
    future = timezone.now() + dt.timedelta(days=2)
    conflict = heart_rate(identifier="taken-by-kari")

    def post(body: Callable[[], Any], path: str = "/Observation", **extra: str) -> Ask:
        return lambda headers: api.post(body(), path, **headers, **extra)

    def conflicting(headers: dict[str, str]) -> requests.Response:
        api.post(conflict)  # Kari's, stored by the first ask
        return api.post(heart_rate(patient=PER, identifier="taken-by-kari"), **headers)

    def put(headers: dict[str, str]) -> requests.Response:
        return api.put("sender-1", _with(heart_rate(), id="sender-2"), **headers)

    return {
        "unit-invalid": (post(lambda: _unit(heart_rate(), "bpm")), 400, ("unit-invalid",)),
        "unit-on-a-component": (post(_bp_in_kpa), 400, ("unit-invalid",)),
        "status-invalid": (post(lambda: _with(heart_rate(), status="done")), 400, ("status-invalid",)),
        "code-required": (post(lambda: _with(heart_rate(), code={"text": "puls"})), 400, ("code-required",)),
        "subject-required": (post(lambda: _without(heart_rate(), "subject")), 400, ("subject-required",)),
        "subject-system": (post(lambda: _dips(heart_rate())), 400, ("subject-system",)),
        "upstream-id-invalid": (
            post(lambda: heart_rate(patient="12345678901"), Prefer="return=OperationOutcome"),
            201,
            ("upstream-id-invalid", "performer-identifier-system"),
        ),
        "resource-type": (post(lambda: {"resourceType": "Patient"}), 400, ("resource-type",)),
        "element-unknown": (post(lambda: _with(heart_rate(), colour="blue")), 400, ("element-unknown",)),
        "effective-future": (
            post(lambda: _with(heart_rate(), effectiveDateTime=future.isoformat())),
            400,
            ("effective-future",),
        ),
        "value-impossible": (post(lambda: heart_rate(400)), 400, ("value-impossible",)),
        "json-invalid": (post(lambda: "{not json"), 400, ("json-invalid",)),
        "id-mismatch": (put, 400, ("id-mismatch",)),
        "if-none-exist": (post(heart_rate, **{"If-None-Exist": "code=8867-4"}), 400, ("if-none-exist-unsupported",)),
        "identifier-conflict": (conflicting, 409, ("identifier-conflict",)),
        "bundle-expected": (post(heart_rate, path=""), 400, ("bundle-expected",)),
        "bundle-type": (post(lambda: bundle(kind="document"), path=""), 400, ("bundle-type",)),
        "batch-entries": (
            post(_batch, path=""),
            200,
            ("full-url-required", "request-method", "resource-required", "unit-invalid", "request-url-ignored"),
        ),
        "collection": (post(_collection, path=""), 200, ("municipality-number-unknown",)),
        "collection-untagged": (post(lambda: bundle(kind="collection"), path=""), 400, ("municipality-required",)),
        "transaction-failed": (post(_transaction, path=""), 400, ("transaction-failed", "subject-required")),
    }


def _batch() -> dict[str, Any]:
    return bundle(
        {"resource": heart_rate(), "request": {"method": "POST", "url": "Observation"}},  # no fullUrl
        entry(heart_rate(), method="DELETE"),
        _without(entry(heart_rate()), "resource"),
        entry(_unit(heart_rate(), "bpm")),
        entry(heart_rate(), method="PUT", url="test.url"),  # names no Observation: a warning, stored
        entry(heart_rate(61)),  # stored, with the profile's performer warning
    )


def _collection() -> dict[str, Any]:
    """A PMD 2.0 collection whose municipality number names no municipality."""
    return {
        **bundle(entry(heart_rate()), kind="collection"),
        "meta": {"tag": [{"system": KOMMUNENUMMER, "code": "9999"}]},
    }


def _transaction() -> dict[str, Any]:
    return bundle(entry(heart_rate()), entry(_without(heart_rate(), "subject")), kind="transaction")


def _bp_in_kpa() -> dict[str, Any]:
    resource = blood_pressure()
    resource["component"][0]["valueQuantity"].update(unit="kPa", code="kPa")
    return resource


def _dips(resource: dict[str, Any]) -> dict[str, Any]:
    subject = {"identifier": {"system": "http://dips.no/fhir/namingsystem/dips-patientid", "value": "1000239"}}
    return _with(resource, subject=subject)


@pytest.fixture
def sender(live_server: Any, helseid: Any, oslo: Any) -> Api:
    return Api(live_server.url + "/fhir", helseid.system_token("vkp-oslo"))


def test_every_ingest_issue_is_coded_and_worded_in_the_senders_language(sender: Api, subtests: Any) -> None:
    for case, (ask, status, codes) in _ingest_cases(sender).items():
        with subtests.test(case):
            same_answer_in_two_languages(ask, status, *codes)


def test_the_size_limits_are_coded_and_worded_too(sender: Api, settings: Any) -> None:
    settings.FHIR_MAX_BUNDLE_ENTRIES = 1
    two = bundle(entry(heart_rate()), entry(heart_rate()))
    same_answer_in_two_languages(lambda headers: sender.post(two, "", **headers), 413, "bundle-too-large")
    settings.FHIR_MAX_BODY_BYTES = 100
    same_answer_in_two_languages(lambda headers: sender.post(heart_rate(), **headers), 413, "too-large")


def test_a_sender_authorised_for_nothing_is_told_so_in_its_language(sender: Api) -> None:
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    call_command("authorise_sender", client_id="vkp-oslo", municipality=demo.OSLO, end=yesterday)
    same_answer_in_two_languages(lambda headers: sender.post(heart_rate(), **headers), 403, "sender-not-authorised")


def test_every_export_error_is_coded_and_worded_in_the_callers_language(
    live_server: Any, helseid: Any, oslo: Any, settings: Any, subtests: Any
) -> None:
    client = exporter(live_server, helseid, "vkp-oslo")
    bearer = {"Authorization": f"Bearer {client.token}"}

    def kick_off(query: str = "", prefer: str = "respond-async") -> Ask:
        url = f"{client.base}/$export{query}"
        return lambda headers: requests.get(url, headers={**bearer, "Prefer": prefer, **headers}, timeout=30)

    def get(url: str) -> Ask:
        return lambda headers: requests.get(url, headers={**bearer, **headers}, timeout=30)

    cases: dict[str, tuple[Ask, int, str]] = {
        "respond-async": (kick_off(prefer=""), 400, "respond-async-required"),
        "_type": (kick_off("?_type=Patient"), 400, "type-invalid"),
        "_outputFormat": (kick_off("?_outputFormat=csv"), 400, "output-format-invalid"),
        "unknown": (kick_off("?patient=1"), 400, "param-unknown"),
        "_since": (kick_off("?_since=2020-01-01T00:00:00"), 400, "since-invalid"),
        "future _since": (kick_off("?_since=2999-01-01T00:00:00Z"), 400, "since-invalid"),
        "no such job": (get(f"{client.base}/$export-status/{MISSING}"), 404, "not-found"),
        "not a job id": (get(f"{client.base}/$export-file/not-a-uuid"), 404, "not-found"),
    }
    for case, (ask, status, code) in cases.items():
        with subtests.test(case):
            same_answer_in_two_languages(ask, status, code)

    started = kick_off()({})
    assert started.status_code == 202, started.text
    ExportJob.objects.update(completed_at=timezone.now() - dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS + 1))
    same_answer_in_two_languages(get(started.headers["Content-Location"]), 410, "export-removed")

    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    call_command("authorise_sender", client_id="vkp-oslo", municipality=demo.OSLO, end=yesterday)
    same_answer_in_two_languages(kick_off(), 403, "export-not-allowed")
