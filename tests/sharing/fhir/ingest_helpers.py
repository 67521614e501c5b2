"""The ingest API as VKP Oslo's system client sees it: real HTTP to the live server, devidp tokens.

Import the ``api`` fixture into a test module to use it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from django.utils import timezone

from devdata import demo
from sharing.fhir.build import observation

FHIR_JSON = "application/fhir+json"
KARI = "30875928763"
PER = "14904839826"


@dataclass
class Api:
    base: str  # .../fhir
    token: str

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, **extra}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def post(self, body: Any, path: str = "/Observation", **headers: str) -> requests.Response:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return requests.post(self.base + path, data=data, headers=self.headers(**headers), timeout=30)

    def put(self, sender_id: str, body: Any, **headers: str) -> requests.Response:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        url = f"{self.base}/Observation/{sender_id}"
        return requests.put(url, data=data, headers=self.headers(**headers), timeout=30)

    def bundle(self, body: Any, path: str = "") -> requests.Response:
        return self.post(body, path=path)


@pytest.fixture
def api(live_server: Any, helseid: Any, oslo: Any) -> Api:
    """VKP Oslo's client; the test database is shared with the live server."""
    return Api(live_server.url + "/fhir", helseid.system_token("vkp-oslo"))


def heart_rate(value: float = 72, *, patient: str = KARI, hours_ago: float = 1, **kw: Any) -> dict[str, Any]:
    return observation(
        kind="heart_rate",
        patient=patient,
        patient_name="Kari Nordmann" if patient == KARI else "Per Olsen",
        effective=timezone.now() - dt.timedelta(hours=hours_ago),
        value=value,
        municipality_orgnr=demo.OSLO,
        **kw,
    )


def blood_pressure(systolic: float = 142, diastolic: float = 88, **kw: Any) -> dict[str, Any]:
    return observation(
        kind="blood_pressure",
        patient=KARI,
        patient_name="Kari Nordmann",
        effective=timezone.now() - dt.timedelta(hours=1),
        systolic=systolic,
        diastolic=diastolic,
        municipality_orgnr=demo.OSLO,
        **kw,
    )


def entry(resource: Any, method: str = "POST", url: str = "Observation", full_url: str | None = None) -> dict[str, Any]:
    return {
        "fullUrl": full_url or f"urn:uuid:{uuid.uuid4()}",
        "resource": resource,
        "request": {"method": method, "url": url},
    }


def bundle(*entries: dict[str, Any], kind: str = "batch") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def statuses(response: requests.Response) -> list[str]:
    return [e["response"]["status"] for e in response.json()["entry"]]
