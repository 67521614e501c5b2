"""Idempotency under load: many identical requests at once leave one row (the database decides)."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from sharing.measurements.models import Measurement, MeasurementVersion, RawResource

from .ingest_helpers import Api, api, bundle, entry, heart_rate

__all__ = ["api"]

# Each live-server request thread holds a database connection; PostgreSQL allows 100 in all
# and other test runs share it, so 100 requests go out through 32 client threads at a time.
REQUESTS, THREADS = 100, 32


def _fire(api: Api, body: dict[str, Any], path: str = "/Observation") -> Counter[int]:
    data = json.dumps(body)
    headers = api.headers()
    with ThreadPoolExecutor(THREADS) as pool:
        codes = pool.map(
            lambda _i: requests.post(api.base + path, data=data, headers=headers, timeout=60).status_code,
            range(REQUESTS),
        )
        return Counter(codes)


def test_100_identical_posts_in_parallel_leave_one_row(api: Api) -> None:
    codes = _fire(api, heart_rate(identifier="parallel-1"))
    assert codes == Counter({201: 1, 200: REQUESTS - 1})
    assert Measurement.objects.count() == 1 and RawResource.objects.count() == 1


def test_100_identical_posts_without_identifier_leave_one_row(api: Api) -> None:
    body = heart_rate()
    del body["identifier"]  # identity from the content hash
    codes = _fire(api, body)
    assert codes == Counter({201: 1, 200: REQUESTS - 1})
    assert Measurement.objects.count() == 1


def test_100_identical_batches_in_parallel_leave_one_row_each(api: Api) -> None:
    body = bundle(*(entry(heart_rate(60 + i, identifier=f"parallel-batch-{i}")) for i in range(10)))
    codes = _fire(api, body, path="")
    assert codes == Counter({200: REQUESTS})
    assert Measurement.objects.count() == 10 and RawResource.objects.count() == 10


def test_100_identical_corrections_in_parallel_make_one_version(api: Api) -> None:
    first = heart_rate(70, identifier="parallel-corr")
    assert api.post(first).status_code == 201
    amended = {**first, "status": "amended", "valueQuantity": {**first["valueQuantity"], "value": 73}}
    codes = _fire(api, amended)
    assert codes == Counter({200: REQUESTS})
    stored = Measurement.objects.get()
    assert (stored.value, stored.version) == (73, 2)
    assert MeasurementVersion.objects.count() == 1
