"""Ingest data quality for the municipality that sends: per sending client, the warnings its
measurements were stored with over a period, by kind of warning, with one example each.

An example names what was sent wrong (a performer identifier system, a profile URL, a unit), the
measurement kind and the day it arrived: what an integration needs to be fixed, and nothing
that identifies a patient (no identity number, name, value, note, or the sender's identifier of
the measurement). So the page reads no patient data and writes no access-log record
(docs/ingest.md, "Data quality for the municipality").
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from .models import Measurement, RawResource

MAX_ROWS = 200_000  # a month of a large municipality's flagged measurements; beyond it the counts say "at least"
MAX_EXCERPT = 300


@dataclass(frozen=True)
class Example:
    kind: str
    received: dt.date
    sent: str  # what was sent in the element the warning is about; "" when nothing is worth showing


@dataclass(frozen=True)
class FlagCount:
    flag: str
    count: int
    last_seen: dt.datetime
    example: Example


@dataclass(frozen=True)
class Sender:
    client_id: str
    total: int  # flagged measurements from this client in the period
    flags: tuple[FlagCount, ...]


def _strings(values: Iterable[Any]) -> str:
    return ", ".join(dict.fromkeys(str(v) for v in values if isinstance(v, str | int | float) and str(v)))[:MAX_EXCERPT]


def _codes(elements: Any) -> list[str]:
    found = []
    for element in elements if isinstance(elements, list) else []:
        codings = (element.get("code") or {}).get("coding") if isinstance(element, dict) else None
        for c in codings if isinstance(codings, list) else []:
            if isinstance(c, dict):
                found.append(f"{c.get('system', '')}|{c.get('code', '')}")
    return found


def _sent(flag: str, resource: Any) -> str:
    """The part of the resource a flag is about, only where it carries no patient data."""
    if not isinstance(resource, dict):
        return ""
    performers = [p for p in resource.get("performer") or [] if isinstance(p, dict)]
    identifiers: list[dict[str, Any]] = [p["identifier"] for p in performers if isinstance(p.get("identifier"), dict)]
    quantity: dict[str, Any] = resource["valueQuantity"] if isinstance(resource.get("valueQuantity"), dict) else {}
    meta: dict[str, Any] = resource["meta"] if isinstance(resource.get("meta"), dict) else {}
    if flag == "performer-identifier-system":
        return _strings(i.get("system") for i in identifiers)
    if flag == "performer-orgnr-invalid":  # an organisation number is not about the patient
        return _strings(i.get("value") for i in identifiers if i.get("system") == "urn:oid:2.16.578.1.12.4.1.4.101")
    if flag in ("legacy-profile-url", "profile-mismatch"):
        return _strings(meta.get("profile") or [])
    if flag == "quantity-incomplete":
        return _strings(f"{k}={quantity.get(k)!s}" for k in ("unit", "system", "code") if k in quantity) or "–"
    if flag in ("unknown-component", "components-ignored"):
        return _strings(_codes(resource.get("component")))
    if flag in ("effective-instant", "effective-no-offset", "effective-empty", "effective-imprecise"):
        return _strings(k for k in resource if k.startswith("effective"))
    if flag == "missing-category":
        return _strings(_codes([{"code": c} for c in resource.get("category") or [] if isinstance(c, dict)])) or "–"
    return ""


def ingest_quality(*, municipality: str, since: dt.datetime) -> list[Sender]:
    """Each sending client's warnings since `since`, most frequent first (two queries)."""
    rows = (
        Measurement.objects.filter(source_orgnr=municipality, received_at__gte=since)
        .exclude(flags=[])
        .order_by("-received_at")
        .values_list("id", "client_id", "flags", "kind", "received_at")[:MAX_ROWS]
    )
    counts: dict[tuple[str, str], int] = defaultdict(int)
    newest: dict[tuple[str, str], tuple[Any, str, dt.datetime]] = {}
    totals: dict[str, int] = defaultdict(int)
    for pk, client, flags, kind, received in rows.iterator(chunk_size=5000):
        totals[client] += 1
        for flag in flags or ():
            counts[(client, flag)] += 1
            newest.setdefault((client, flag), (pk, kind, received))
    raw = dict(RawResource.objects.filter(measurement_id__in=[v[0] for v in newest.values()]).values_list(
        "measurement_id", "resource"))  # fmt: skip
    senders = []
    for client in sorted(totals, key=lambda c: -totals[c]):
        found = []
        for (who, flag), count in counts.items():
            if who != client:
                continue
            pk, kind, received = newest[(who, flag)]
            example = Example(kind, timezone.localdate(received), _sent(flag, raw.get(pk)))
            found.append(FlagCount(flag, count, received, example))
        found.sort(key=lambda f: (-f.count, f.flag))
        senders.append(Sender(client, totals[client], tuple(found)))
    return senders
