"""Every error the API words itself follows one rule (docs/fhir-api.md, "Errors and their language").

Each OperationOutcome issue carries a stable code in `details.coding`, and `diagnostics` equal to
`details.text`, in Norwegian by default and in English when Accept-Language prefers it: the
search-parameter errors, DRF's own (parse errors, method not allowed, unsupported media type, not
acceptable, authentication), a URL that names nothing, the hourly limit and the refusals.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from portal.login.devclient import DpopAuth, DpopKey, epj_user_token
from sharing.identifiers import SYSTEM_FNR

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
