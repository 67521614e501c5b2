"""Malformed resources over HTTP: never a 5xx, never a partial write.

Hypothesis mutates valid Observations and Bundles (replacing, deleting and inserting JSON
anywhere, including text PostgreSQL cannot store) and posts them to the live server.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharing.measurements.models import Measurement, RawResource

from .ingest_helpers import Api, api, blood_pressure, bundle, entry, heart_rate

__all__ = ["api"]

FUZZ = settings(
    max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "80")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KEYS = st.sampled_from(
    ["resourceType", "status", "code", "subject", "identifier", "value", "valueQuantity", "effectiveDateTime",
     "component", "performer", "system", "unit", "fullUrl", "request", "method", "url", "resource", "entry", "type"]
) | st.text(max_size=8)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["", "\x00", "a\ud800b", "final", "amended", "entered-in-error", "PUT", "POST", "DELETE",
                       "Observation", "Observation/x", "2026-03-20", "9999-01-01", "kg", "/min", "batch",
                       "transaction", "urn:oid:2.16.578.1.12.4.1.4.1", "30875928763", "311111019", "315555019",
                       "identifier=urn:x|a%00b", "identifier=urn:x|%ED%A0%80", "ifNoneExist"])
)  # fmt: skip
JSON = st.recursive(SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(KEYS, c, max_size=4), max_leaves=12)
OK_STATUSES = {200, 201, 400, 403, 405, 409, 413}


def _containers(node: Any, out: list[Any]) -> list[Any]:
    if isinstance(node, dict | list):
        out.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, out)
    return out


def _mutate(document: Any, data: st.DataObject, times: int) -> Any:
    for _ in range(times):
        target = data.draw(st.sampled_from(_containers(document, [])))
        action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        if isinstance(target, dict):
            keys = list(target)
            key = data.draw(st.sampled_from(keys)) if keys and action != "insert" else data.draw(KEYS)
            if action == "delete":
                target.pop(key, None)
            else:
                target[key] = data.draw(JSON)
        elif target:
            position = data.draw(st.integers(0, len(target) - 1))
            if action == "delete":
                del target[position]
            else:
                target[position] = data.draw(JSON)
    return document


def _stored() -> tuple[int, int]:
    return Measurement.objects.count(), RawResource.objects.count()


def _valid() -> list[dict[str, Any]]:
    return [heart_rate(), blood_pressure(), {**heart_rate(), "status": "entered-in-error"}]


@FUZZ
@given(data=st.data())
def test_mutated_observations_never_crash_or_half_store(api: Api, data: st.DataObject) -> None:
    resource = _mutate(copy.deepcopy(data.draw(st.sampled_from(_valid()))), data, data.draw(st.integers(1, 3)))
    before = _stored()
    response = api.post(json.dumps(resource))
    assert response.status_code in OK_STATUSES, response.text[:500]
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    after = _stored()
    assert after[0] == after[1], "every measurement has its raw resource"
    assert after[0] - before[0] == (1 if response.status_code == 201 else 0)


@FUZZ
@given(data=st.data(), kind=st.sampled_from(["batch", "transaction"]))
def test_mutated_bundles_never_crash_or_half_store(api: Api, data: st.DataObject, kind: str) -> None:
    entries = [entry(copy.deepcopy(r)) for r in data.draw(st.lists(st.sampled_from(_valid()), min_size=1, max_size=4))]
    body = _mutate(bundle(*entries, kind=kind), data, data.draw(st.integers(1, 4)))
    before = _stored()
    response = api.bundle(json.dumps(body))
    assert response.status_code in OK_STATUSES, response.text[:500]
    after = _stored()
    assert after[0] == after[1]
    added = after[0] - before[0]
    if response.status_code != 200:
        assert added == 0
        return
    codes = [e["response"]["status"][:3] for e in response.json()["entry"]]
    assert added == codes.count("201")
    if kind == "transaction":
        assert set(codes) <= {"200", "201"}, "a transaction answered 200 is stored entirely"
