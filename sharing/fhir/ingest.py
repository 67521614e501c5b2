"""Translate incoming FHIR Observations into domain calls: check the sender, normalise, store.

Everything that writes goes through ``write_observations``: a single POST or PUT is a list of
one entry, a Bundle a list of many. Entries are normalised one by one, and the good ones are
stored together by one ``record_measurements`` call (one transaction, bulk inserts). With
``atomic=True`` (a transaction Bundle) nothing is stored unless every entry succeeds.
Refused writes (a sender writing for another organisation) are logged in the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sharing.agreements.models import Organisation
from sharing.audit.actions import record_event
from sharing.core.actor import Actor
from sharing.fhir.observation.guard import clean_text
from sharing.fhir.observation.normalise import Issue, Normalised, RejectedObservation, normalise
from sharing.measurements.actions import (
    Outcome,
    Recorded,
    identifier_key,
    record_measurements,
    sent_with_key,
    stored_resource,
)

from .auth import ApiClient

if TYPE_CHECKING:  # annotations only: the sender's rows come through measurements.actions
    from sharing.measurements.models import Measurement

EVENT_REFUSED = "ingest.refused"
Method = Literal["POST", "PUT"]


class SenderNotAllowed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Entry:
    """One Observation to write, and how it was asked for."""

    resource: Any
    method: Method = "POST"
    put_id: str = ""  # PUT: the sender's id from the URL
    if_none_exist: str = ""  # conditional create: a FHIR search, e.g. "identifier=system|value"


@dataclass
class Result:
    """What became of one entry: an HTTP status, and issues to tell the sender (errors or warnings)."""

    status: int
    issues: list[Issue] = field(default_factory=list)
    recorded: Recorded | None = None
    normalised: Normalised | None = None
    resource: Any = None  # as stored: a PUT body without an id has been given the URL's
    refused: bool = False  # written for an organisation the client may not write for

    @property
    def ok(self) -> bool:
        return self.status < 300


class Rollback(Exception):
    """A transaction Bundle had a failing entry: nothing was stored."""

    def __init__(self, results: list[Result]) -> None:
        super().__init__("transaction rolled back")
        self.results = results


def source_municipality(client: ApiClient) -> str:
    """A system client writes only for the municipality named in its token."""
    if not client.orgnr_parent:
        raise SenderNotAllowed("The access token names no organisation (orgnr_parent).")
    if not Organisation.objects.filter(orgnr=client.orgnr_parent, kind=Organisation.Kind.MUNICIPALITY).exists():
        raise SenderNotAllowed(
            f"Organisation {client.orgnr_parent} is not a municipality registered as data controller here."
        )
    return client.orgnr_parent


def check_performer(item: Normalised, source_orgnr: str) -> None:
    """performer[organization], where present, must name the municipality the token is for."""
    if item.performer_orgnrs and source_orgnr not in item.performer_orgnrs:
        raise RejectedObservation(
            [
                Issue(
                    severity="error",
                    code="forbidden",
                    expression="Observation.performer",
                    diagnostics=(
                        f"performer[organization] names {', '.join(item.performer_orgnrs)}, "
                        f"but the access token is for {source_orgnr}."
                    ),
                )
            ]
        )


def normalise_for(resource: Any, source_orgnr: str, *, now: dt.datetime | None = None) -> Normalised:
    item = normalise(
        resource,
        now=now or timezone.now(),
        clock_skew=dt.timedelta(seconds=settings.INGEST_CLOCK_SKEW_SECONDS),
    )
    check_performer(item, source_orgnr)
    return item


def refuse(
    *, client: ApiClient, reason: str, data: dict[str, Any] | None = None, about: Sequence[str] = (), patient: str = ""
) -> None:
    """Log a refused write (after any rollback, so the record stays), for the municipalities it concerns."""
    record_event(
        event=EVENT_REFUSED,
        outcome="denied",
        by=client.actor(),
        patient_value=patient,
        data={"reason": reason, **(data or {})},
        municipalities=[client.orgnr_parent, *about],
    )


def write_observations(*, entries: Sequence[Entry | Result], client: ApiClient, atomic: bool = False) -> list[Result]:
    """Normalise and store ``entries`` for the client's municipality; one ``Result`` per entry.

    An entry given as a ``Result`` was refused before (e.g. a malformed Bundle entry) and is
    passed through; with ``atomic`` it fails the whole call.

    Raises ``SenderNotAllowed`` (nothing stored; logged) and, with ``atomic``, ``Rollback``
    when any entry fails (nothing stored).
    """
    try:
        source = source_municipality(client)
    except SenderNotAllowed as exc:
        refuse(client=client, reason=exc.message, data={"entries": len(entries)})
        raise
    now = timezone.now()
    results = [entry if isinstance(entry, Result) else _prepare(entry, source, now) for entry in entries]
    try:
        _store(results, source=source, by=client.actor(), atomic=atomic)
    finally:
        _log_refusals(client, results)
    return results


def _prepare(entry: Entry, source: str, now: dt.datetime) -> Result:
    """Normalise one entry; a conditional create that matches is settled here, without writing."""
    resource = entry.resource
    try:
        if entry.method == "PUT":
            resource = _with_put_id(resource, entry.put_id)
        if entry.if_none_exist and entry.method == "POST":
            found = _conditional_match(entry.if_none_exist, source)
            if found is not None:
                note = Issue("information", "informational", "", "A matching Observation exists; nothing was stored.")
                return Result(200, [note], Recorded(found.id, Outcome.UNCHANGED, found.version))
        item = normalise(resource, now=now, clock_skew=dt.timedelta(seconds=settings.INGEST_CLOCK_SKEW_SECONDS))
    except RejectedObservation as exc:
        return Result(400, exc.issues)
    try:
        check_performer(item, source)
    except RejectedObservation as exc:
        return Result(403, exc.issues, normalised=item, refused=True)
    return Result(0, list(item.warnings), normalised=item, resource=resource)


def _with_put_id(resource: Any, put_id: str) -> Any:
    """PUT names the sender's id; the body must agree, and a body without an id takes it."""
    if not put_id or not isinstance(resource, dict):
        return resource
    sent = resource.get("id")
    if sent is None:
        return {**resource, "id": put_id}
    if sent != put_id:
        msg = f"The id in the body ({str(sent)[:64]!r}) differs from the id in the URL ({put_id!r})."
        raise RejectedObservation([Issue("error", "invalid", "Observation.id", msg)])
    return resource


def _conditional_match(query: str, source: str) -> Measurement | None:
    """If-None-Exist: only ``identifier=system|value`` is supported; it finds the sender's own."""
    params = parse_qsl(query, keep_blank_values=True)
    if len(params) != 1 or params[0][0] != "identifier" or "|" not in params[0][1]:
        msg = "If-None-Exist supports one parameter, identifier=system|value."
        raise RejectedObservation([Issue("error", "not-supported", "", msg)])
    system, _, value = params[0][1].partition("|")
    if not system or not value or not clean_text(system + value):
        raise RejectedObservation([Issue("error", "invalid", "", "identifier needs both system and value.")])
    key = identifier_key(f"{system}|{value}")
    return sent_with_key(source_orgnr=source, dedup_key=key)


def _store(results: list[Result], *, source: str, by: Actor, atomic: bool) -> None:
    pending = [r for r in results if r.status == 0 and r.normalised is not None]
    if atomic and any(r.status >= 300 for r in results):
        raise Rollback(results)
    items = [(r.normalised, r.resource) for r in pending if r.normalised is not None]
    with transaction.atomic():
        recorded = record_measurements(items=items, source_orgnr=source, by=by) if items else []
        for result, rec in zip(pending, recorded, strict=True):
            result.recorded = rec
            result.status = _STATUS[rec.outcome]
            if rec.outcome is Outcome.CONFLICT:
                result.issues = [_conflict_issue()]
            elif rec.outcome is Outcome.UNCHANGED:
                result.issues.append(Issue("information", "informational", "", "Already stored; nothing changed."))
        if atomic and any(not r.ok for r in results):
            raise Rollback(results)  # leaves the atomic block: nothing of this call is kept


def _conflict_issue() -> Issue:
    msg = (
        "The identifier (or id) is already used by a measurement of another patient or kind. A correction "
        "cannot move a measurement: mark the stored one entered-in-error and send the new one with its own identifier."
    )
    return Issue("error", "conflict", "Observation.identifier", msg)


def _log_refusals(client: ApiClient, results: list[Result]) -> None:
    """One record per request for the entries written for another organisation than the token's."""
    refused = [(i, r.normalised) for i, r in enumerate(results) if r.refused and r.normalised is not None]
    if not refused:
        return
    named = sorted({orgnr for _i, item in refused for orgnr in item.performer_orgnrs})
    patients = {item.patient_value for _i, item in refused}
    refuse(
        client=client,
        reason=f"performer[organization] names {', '.join(named)}, but the access token is for {client.orgnr_parent}.",
        data={"entries": [i for i, _item in refused][:100], "count": len(refused), "of": len(results)},
        about=named,
        patient=patients.pop() if len(patients) == 1 else "",
    )


_STATUS: dict[Outcome, int] = {
    Outcome.CREATED: 201,
    Outcome.UPDATED: 200,
    Outcome.UNCHANGED: 200,
    Outcome.CONFLICT: 409,
}


def representation(result: Result) -> dict[str, Any]:
    """The Observation as now stored, with our id and version, to answer a successful write."""
    recorded = result.recorded
    if recorded is None:
        return {}
    resource = result.resource
    if recorded.outcome is not Outcome.CREATED and recorded.outcome is not Outcome.UPDATED:
        resource = stored_resource(recorded.measurement_id)
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    return {**resource, "id": str(recorded.measurement_id), "meta": {**meta, "versionId": str(recorded.version)}}
