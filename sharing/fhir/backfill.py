"""Backfill from files: Bundles, single Observations or NDJSON, through the API's own write path.

Each resource goes through ``ingest.write_observations`` exactly as if the municipality's
system client had POSTed it, in chunks of ``CHUNK`` (one transaction and bulk insert each),
so the same checks, de-duplication, corrections and refusal logging apply.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from sharing.fhir.observation.issues import Issue, error
from sharing.measurements.actions import Outcome

from .auth import ApiClient
from .ingest import Entry, Result, write_observations

CHUNK = 1000
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
CLIENT_ID = "import_observations"


@dataclass
class Summary:
    accepted: int = 0  # stored as new measurements
    updated: int = 0  # a new version of a stored measurement
    duplicate: int = 0  # already stored: nothing changed
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # rejection reasons, for the report

    @property
    def total(self) -> int:
        return self.accepted + self.updated + self.duplicate + self.rejected

    def add(self, result: Result) -> None:
        outcome = result.recorded.outcome if result.recorded is not None and result.ok else None
        if outcome is Outcome.CREATED:
            self.accepted += 1
        elif outcome is Outcome.UPDATED:
            self.updated += 1
        elif outcome is Outcome.UNCHANGED:
            self.duplicate += 1
        else:
            self.rejected += 1
            error = next((i for i in result.issues if i.severity == "error"), None)
            self.reasons[_reason(error) if error else f"HTTP {result.status}"] += 1


def _reason(error: Issue) -> str:
    return f"{error.code} at {error.expression}" if error.expression else f"{error.code}: {error.diagnostics[:100]}"


def importer(municipality: str) -> ApiClient:
    """The command acts as a system client of the municipality, so it may write only for it."""
    return ApiClient(
        client_id=CLIENT_ID,
        name="Backfill (manage.py import_observations)",
        orgnr_parent=municipality,
        orgnr_child="",
        scopes=frozenset(),
    )


def count_resources(path: Path) -> int:
    """How many resources ``read`` will yield (for the progress bar); lines for NDJSON."""
    if path.suffix.lower() in NDJSON_SUFFIXES:
        with path.open("rb") as lines:
            return sum(1 for line in lines if line.strip())
    return sum(1 for _ in read(path))


def read(path: Path) -> Iterator[Entry | Result]:
    """The resources in a file: NDJSON (one per line), else one JSON document. Bundles are unpacked."""
    if path.suffix.lower() in NDJSON_SUFFIXES:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    yield from _unpack(line, f"{path.name} line {number}")
    else:
        yield from _unpack(path.read_text(encoding="utf-8"), path.name)


def _unpack(text: str, where: str) -> Iterator[Entry | Result]:
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        msg = _("%(where)s: not JSON (%(reason)s)")
        yield Result(400, [error("structure", "", "json-invalid", msg, where=where, reason=str(exc)[:80])])
        return
    if isinstance(document, dict) and document.get("resourceType") == "Bundle":
        entries = document.get("entry")
        for entry in entries if isinstance(entries, list) else ():
            yield Entry(entry.get("resource") if isinstance(entry, dict) else entry)
    else:
        yield Entry(document)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def import_files(paths: Iterable[Path], *, municipality: str, progress: Callable[[int], None] | None = None) -> Summary:
    """Store every resource in ``paths`` for ``municipality``. Raises ingest.SenderNotAllowed."""
    client, summary = importer(municipality), Summary()
    chunk: list[Entry | Result] = []
    for path in paths:
        for entry in read(path):
            chunk.append(entry)
            if len(chunk) >= CHUNK:
                _flush(chunk, client, summary, progress)
    _flush(chunk, client, summary, progress)
    return summary


def _flush(
    chunk: list[Entry | Result], client: ApiClient, summary: Summary, progress: Callable[[int], None] | None
) -> None:
    if not chunk:
        return
    for result in write_observations(entries=chunk, client=client, operator=True):
        summary.add(result)
    if progress:
        progress(len(chunk))
    chunk.clear()
