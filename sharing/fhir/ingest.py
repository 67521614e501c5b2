"""Translate incoming FHIR Observations into domain calls: check the sender, normalise, store.

Everything that writes goes through ``write_observations``: a single POST or PUT is a list of
one entry, a Bundle a list of many. Entries are normalised one by one, and the good ones are
stored together by one ``record_measurements`` call (one transaction, bulk inserts). With
``atomic=True`` (a transaction Bundle) nothing is stored unless every entry succeeds.
Refused writes (a sender writing for another organisation) are logged in the audit log.

Each entry names its municipality (the data controller): the PMD 2.0 ``kommunenummer`` tag on
the Observation or its Bundle (``Bundle.meta.tag``), else the token's ``orgnr_parent``, else the
one municipality the client is authorised for. An entry is refused (403, per entry) when the
client is not authorised to send for that municipality (``SenderAuthorisation``) or the
municipality has no data processing agreement in force (``ProcessingAgreement``).
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
from django.utils.translation import gettext_lazy as _

from sharing.agreements.models import Organisation, ProcessingAgreement, SenderAuthorisation
from sharing.audit.actions import record_event
from sharing.core.actor import Actor
from sharing.fhir.observation.guard import clean_text
from sharing.fhir.observation.issues import error
from sharing.fhir.observation.normalise import Issue, Normalised, RejectedObservation, normalise
from sharing.fhir.wording import Said
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
# PMD 2.0: the municipality number in Bundle.meta.tag (and, here, also on an Observation's meta.tag).
KOMMUNENUMMER = "https://register.geonorge.no/sosi-kodelister/inndelinger/inndelingsbase/kommunenummer"
Method = Literal["POST", "PUT"]
MATCHED = _("A matching Observation exists; nothing was stored.")
UNCHANGED = _("Already stored; nothing changed.")


class SenderNotAllowed(Exception):
    """The client may send for no municipality; ``said`` words it, ``message`` is the English (logged)."""

    def __init__(self, said: Said) -> None:
        self.said, self.message = said, str(said)
        super().__init__(self.message)


@dataclass(frozen=True)
class Entry:
    """One Observation to write, and how it was asked for."""

    resource: Any
    method: Method = "POST"
    put_id: str = ""  # PUT: the sender's id from the URL
    if_none_exist: str = ""  # conditional create: a FHIR search, e.g. "identifier=system|value"
    municipality_number: str = ""  # the Bundle's kommunenummer tag, if any


@dataclass
class Result:
    """What became of one entry: an HTTP status, and issues to tell the sender (errors or warnings)."""

    status: int
    issues: list[Issue] = field(default_factory=list)
    recorded: Recorded | None = None
    normalised: Normalised | None = None
    resource: Any = None  # as stored: a PUT body without an id has been given the URL's
    refused: bool = False  # written for an organisation the client may not write for
    municipality: str = ""  # the orgnr the entry was written for (or refused for)

    @property
    def ok(self) -> bool:
        return self.status < 300


class Rollback(Exception):
    """A transaction Bundle had a failing entry: nothing was stored."""

    def __init__(self, results: list[Result]) -> None:
        super().__init__("transaction rolled back")
        self.results = results


@dataclass(frozen=True)
class Sender:
    """What the client may send for today: municipalities it is authorised for, and which have a
    data processing agreement in force; the municipality numbers known here."""

    client: ApiClient
    authorised: frozenset[str]
    processing: frozenset[str]
    numbers: dict[str, str]  # kommunenummer -> orgnr

    def municipality(self, resource: Any, bundle_number: str) -> tuple[str, Issue | None]:
        """The orgnr an entry is written for, or the reason it is refused (a 403 issue)."""
        number = tagged_number(resource) or bundle_number
        if number:
            orgnr = self.numbers.get(number, "")
            if not orgnr:
                msg = _("Municipality number %(number)r names no municipality registered here.")
                return "", error("forbidden", "", "municipality-number-unknown", msg, number=number[:8])
        elif self.client.orgnr_parent in self.authorised:
            orgnr = self.client.orgnr_parent
        elif len(self.authorised) == 1:
            [orgnr] = self.authorised
        else:
            msg = _("Name the municipality: Bundle.meta.tag with the kommunenummer system.")
            return "", error("forbidden", "", "municipality-unnamed", msg)
        if orgnr not in self.authorised:
            msg = _("This client (%(client)s) is not authorised to send for %(orgnr)s.")
            return orgnr, error(
                "forbidden", "", "municipality-not-authorised", msg, client=self.client.client_id, orgnr=orgnr
            )
        if orgnr not in self.processing:
            msg = _(
                "Municipality %(orgnr)s has no data processing agreement in force with this service; nothing stored."
            )
            return orgnr, error("forbidden", "", "no-processing-agreement", msg, orgnr=orgnr)
        return orgnr, None


def tagged_number(resource: Any) -> str:
    """The kommunenummer in a resource's meta.tag, or ""."""
    meta = resource.get("meta") if isinstance(resource, dict) else None
    tags = meta.get("tag") if isinstance(meta, dict) else None
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, dict) and tag.get("system") == KOMMUNENUMMER and isinstance(tag.get("code"), str):
            return tag["code"].strip()
    return ""


def sender_of(client: ApiClient, *, on: dt.date | None = None) -> Sender:
    """The client's authorisations today; raises SenderNotAllowed when it may send for no municipality."""
    day = on or timezone.localdate()
    rows = SenderAuthorisation.objects.in_force(on=day).filter(
        client_id=client.client_id,
        municipality__kind=Organisation.Kind.MUNICIPALITY,
        municipality__parent__isnull=True,
    )
    authorised = frozenset(rows.values_list("municipality__orgnr", flat=True))
    if not client.client_id or not authorised:
        msg = _(
            "This client (%(client)s) is not authorised to send for any municipality registered as data "
            "controller here."
        )
        raise SenderNotAllowed(Said("sender-not-authorised", msg, client=client.client_id or _("without client_id")))
    return _sender(client, authorised, day)


def operator_sender(client: ApiClient, *, on: dt.date | None = None) -> Sender:
    """The service's own backfill for the municipality in ``client.orgnr_parent`` (no sender
    authorisation needed: the operator acts on the municipality's instruction; the processing
    agreement still must be in force). Raises SenderNotAllowed for an unknown municipality."""
    if not Organisation.objects.municipalities().filter(orgnr=client.orgnr_parent).exists():
        msg = _("Organisation %(orgnr)s is not a municipality registered as data controller here.")
        raise SenderNotAllowed(Said("not-a-municipality", msg, orgnr=client.orgnr_parent))
    return _sender(client, frozenset({client.orgnr_parent}), on or timezone.localdate())


def _sender(client: ApiClient, authorised: frozenset[str], day: dt.date) -> Sender:
    processing = ProcessingAgreement.objects.in_force(on=day).filter(municipality__orgnr__in=authorised)
    numbers = Organisation.objects.municipalities().exclude(municipality_number="")
    return Sender(
        client=client,
        authorised=authorised,
        processing=frozenset(processing.values_list("municipality__orgnr", flat=True)),
        numbers=dict(numbers.values_list("municipality_number", "orgnr")),
    )


def check_performer(item: Normalised, source_orgnr: str) -> None:
    """performer[organization], where present, must name the municipality the token is for."""
    if item.performer_orgnrs and source_orgnr not in item.performer_orgnrs:
        msg = _("performer[organization] names %(named)s, but the measurement is sent for %(orgnr)s.")
        named = ", ".join(item.performer_orgnrs)
        raise RejectedObservation(
            [
                error(
                    "forbidden",
                    "Observation.performer",
                    "performer-other-organisation",
                    msg,
                    named=named,
                    orgnr=source_orgnr,
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


def write_observations(
    *, entries: Sequence[Entry | Result], client: ApiClient, atomic: bool = False, operator: bool = False
) -> list[Result]:
    """Normalise and store ``entries`` for the client's municipality; one ``Result`` per entry.

    An entry given as a ``Result`` was refused before (e.g. a malformed Bundle entry) and is
    passed through; with ``atomic`` it fails the whole call.

    Raises ``SenderNotAllowed`` (nothing stored; logged) and, with ``atomic``, ``Rollback``
    when any entry fails (nothing stored). ``operator``: the service's own backfill, for the
    municipality in the client's ``orgnr_parent`` (see ``operator_sender``).
    """
    try:
        sender = operator_sender(client) if operator else sender_of(client)
    except SenderNotAllowed as exc:
        refuse(client=client, reason=exc.message, data={"entries": len(entries)})
        raise
    now = timezone.now()
    results = [entry if isinstance(entry, Result) else _prepare(entry, sender, now) for entry in entries]
    try:
        _store(results, by=client.actor(), atomic=atomic)
    finally:
        _log_refusals(client, results)
    return results


def _prepare(entry: Entry, sender: Sender, now: dt.datetime) -> Result:
    """Normalise one entry; a conditional create that matches is settled here, without writing."""
    resource = entry.resource
    source, refusal = sender.municipality(resource, entry.municipality_number)
    if refusal is not None:
        return Result(403, [refusal], refused=True, municipality=source)
    try:
        if entry.method == "PUT":
            resource = _with_put_id(resource, entry.put_id)
        if entry.if_none_exist and entry.method == "POST":
            found = _conditional_match(entry.if_none_exist, source)
            if found is not None:
                note = Issue("information", "informational", "", Said("conditional-match", MATCHED))
                return Result(200, [note], Recorded(found.id, Outcome.UNCHANGED, found.version))
        item = normalise(resource, now=now, clock_skew=dt.timedelta(seconds=settings.INGEST_CLOCK_SKEW_SECONDS))
    except RejectedObservation as exc:
        return Result(400, exc.issues)
    try:
        check_performer(item, source)
    except RejectedObservation as exc:
        return Result(403, exc.issues, normalised=item, refused=True, municipality=source)
    return Result(0, list(item.warnings), normalised=item, resource=resource, municipality=source)


def _with_put_id(resource: Any, put_id: str) -> Any:
    """PUT names the sender's id; the body must agree, and a body without an id takes it."""
    if not put_id or not isinstance(resource, dict):
        return resource
    sent = resource.get("id")
    if sent is None:
        return {**resource, "id": put_id}
    if sent != put_id:
        msg = _("The id in the body (%(sent)r) differs from the id in the URL (%(url)r).")
        raise RejectedObservation(
            [error("invalid", "Observation.id", "id-mismatch", msg, sent=str(sent)[:64], url=put_id)]
        )
    return resource


def _conditional_match(query: str, source: str) -> Measurement | None:
    """If-None-Exist: only ``identifier=system|value`` is supported; it finds the sender's own."""
    params = parse_qsl(query, keep_blank_values=True)
    if len(params) != 1 or params[0][0] != "identifier" or "|" not in params[0][1]:
        msg = _("If-None-Exist supports one parameter, identifier=system|value.")
        raise RejectedObservation([error("not-supported", "", "if-none-exist-unsupported", msg)])
    system, _bar, value = params[0][1].partition("|")
    if not system or not value or not clean_text(system + value):
        msg = _("identifier needs both system and value.")
        raise RejectedObservation([error("invalid", "", "if-none-exist-invalid", msg)])
    key = identifier_key(f"{system}|{value}")
    return sent_with_key(source_orgnr=source, dedup_key=key)


def _store(results: list[Result], *, by: Actor, atomic: bool) -> None:
    pending = [r for r in results if r.status == 0 and r.normalised is not None]
    if atomic and any(r.status >= 300 for r in results):
        raise Rollback(results)
    with transaction.atomic():
        for source in sorted({r.municipality for r in pending}):
            _store_for(source, [r for r in pending if r.municipality == source], by=by)
        if atomic and any(not r.ok for r in results):
            raise Rollback(results)  # leaves the atomic block: nothing of this call is kept


def _store_for(source: str, pending: list[Result], *, by: Actor) -> None:
    """One municipality's entries of a call, stored by one ``record_measurements``."""
    items = [(r.normalised, r.resource) for r in pending if r.normalised is not None]
    if items:
        recorded = record_measurements(items=items, source_orgnr=source, by=by)
        for result, rec in zip(pending, recorded, strict=True):
            result.recorded = rec
            result.status = _STATUS[rec.outcome]
            if rec.outcome is Outcome.CONFLICT:
                result.issues = [_conflict_issue()]
            elif rec.outcome is Outcome.UNCHANGED:
                result.issues.append(Issue("information", "informational", "", Said("already-stored", UNCHANGED)))


def _conflict_issue() -> Issue:
    msg = _(
        "The identifier (or id) is already used by a measurement of another patient or kind. A correction "
        "cannot move a measurement: mark the stored one entered-in-error and send the new one with its own identifier."
    )
    return error("conflict", "Observation.identifier", "identifier-conflict", msg)


def _log_refusals(client: ApiClient, results: list[Result]) -> None:
    """One record per request for the entries refused for their municipality (not authorised, no
    processing agreement, or a performer naming another organisation)."""
    refused = [(i, r) for i, r in enumerate(results) if r.refused]
    if not refused:
        return
    named = {orgnr for _i, r in refused if r.normalised is not None for orgnr in r.normalised.performer_orgnrs}
    about = sorted(named | {r.municipality for _i, r in refused if r.municipality})
    reasons = sorted({issue.diagnostics for _i, r in refused for issue in r.issues if issue.severity == "error"})
    patients = {r.normalised.patient_value for _i, r in refused if r.normalised is not None}
    refuse(
        client=client,
        reason=" ".join(reasons)[:2000],
        data={"entries": [i for i, _r in refused][:100], "count": len(refused), "of": len(results)},
        about=about,
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
