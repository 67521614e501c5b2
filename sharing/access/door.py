"""The one door: every read of patient data, and every read of the access log, is a call here.

`audited_read` decides, gathers what the decision allows, writes the audit record, commits, and
only then returns. The gather runs before the record because the record says what was made
available (kinds, period, count, ids); nothing leaves this function until the record has
committed. With a hot standby configured the gather may run there (`replica.on_standby`); the
decision and the record are always on the primary. If the record cannot be written
(AuditUnavailable, raised by the audit write itself), the exception propagates and nothing is
returned.

A lookup (the portal's search, the API's search and $lastn) is counted against
LOOKUP_RATE_LIMIT_PER_HOUR here, once: the per-person count and the record that the lookup
leaves happen in one transaction that holds a per-person advisory lock, so parallel lookups by
one person are counted one after the other and the limit cannot be raced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from sharing.audit import events
from sharing.audit.actions import record_event
from sharing.audit.models import AuditEvent
from sharing.core import replica
from sharing.core.actor import Actor
from sharing.core.prepared import Prepared
from sharing.identifiers import NationalId
from sharing.measurements.models import IdentityLink, PatientSource

from .decision import Decision

T = TypeVar("T")

# The first key of the per-person lookup lock (pg_advisory_xact_lock(int, int)); the second is a
# hash of the person. The two-key lock space does not overlap the audit chain's one-key lock.
_LOOKUP_LOCK_CLASS = 0x4C4B  # "LK"


class LookupRateLimited(Exception):
    """Too many lookups by this person in the last hour: refused, logged, and queued for review."""


@dataclass(frozen=True)
class Access(Generic[T]):
    """The outcome of an audited read: the decision and, when granted, what was gathered."""

    patient: NationalId | None
    decision: Decision
    result: T | None = None


def _who(by: Actor) -> dict[str, str] | None:
    if by.sub:
        return {"actor_sub": by.sub}
    if by.client_id:
        return {"client_id": by.client_id, "actor_sub": ""}
    return None


def _recent_lookups(
    *, shape: tuple[str, int, bool], who: str, since: dt.datetime, until: dt.datetime | None = None
) -> QuerySet[AuditEvent, Any]:
    """A person's counted lookups after `since` (and up to `until`, when the shape says so), at most
    the limit of them: shape = (the field naming the person, the limit, whether bounded above)."""
    field, limit, bounded = shape
    window = {"occurred_at__gt": since, **({"occurred_at__lte": until} if bounded else {})}
    person = {"actor_sub": who} if field == "actor_sub" else {"client_id": who, "actor_sub": ""}
    recent = AuditEvent.objects.filter(events.counted_lookups(), **person, **window)
    return recent.order_by().values("occurred_at")[:limit]  # counted from the partial index alone, in no order


# Compiled once per shape (sharing/core/prepared.py), bound and planned per call: every lookup
# checks the limit, and Django built and compiled the count's query twice a call (0.6 of 0.9 ms).
_RECENT_LOOKUPS = Prepared(_recent_lookups, server=False)


def lookup_rate_exceeded(*, by: Actor, at: dt.datetime | None = None, lock: bool = False) -> bool:
    """Whether `by` has used up LOOKUP_RATE_LIMIT_PER_HOUR lookups in the hour before `at` (0: no limit).

    Without `at`: in the last hour, including any record committed while this one waited for the
    lock (a bound taken before the wait would miss the very records the lock waits for).

    Counted from the access log itself (refused lookups do not count), so the limit holds across
    workers and restarts, and cannot be reset by anything short of writing the log. With `lock`
    (inside `audited_read`'s transaction) the person's advisory lock is taken first, in the same
    round trip, and held until the lookup's record is committed: the count cannot be raced.
    """
    limit = settings.LOOKUP_RATE_LIMIT_PER_HOUR
    who = _who(by)
    if limit <= 0 or who is None:
        return False
    field = "actor_sub" if by.sub else "client_id"
    bounds: dict[str, Any] = {
        "since": (at or timezone.now()) - dt.timedelta(hours=1),
        **({"until": at} if at is not None else {}),
    }
    shape = (field, limit, at is not None)
    if connection.vendor != "postgresql":
        return _recent_lookups(shape=shape, who=who[field], **bounds).count() >= limit
    sql, params = _RECENT_LOOKUPS.sql(shape, who=who[field], **bounds)
    count = f"SELECT count(*) FROM ({sql}) AS recent"  # noqa: S608 - SQL from the ORM
    with connection.cursor() as cursor:
        if lock:
            # Two statements in one message, as the audit chain's lock: under READ COMMITTED the
            # count takes its snapshot after the lock is held, so it sees every lookup committed before ours.
            cursor.execute(
                f"SELECT pg_advisory_xact_lock(%s, hashtext(%s)); {count}",
                [_LOOKUP_LOCK_CLASS, "|".join(who.values()), *params],
            )
            cursor.nextset()
        else:
            cursor.execute(count, params)
        row = cursor.fetchone()
    return int(row[0] if row else 0) >= limit


def holders_of(patient_value: str) -> list[str]:
    """The municipalities holding data on a patient (under any of the person's linked numbers):
    whom a read about the patient concerns."""
    if not patient_value:
        return []
    rows = PatientSource.objects.filter(IdentityLink.objects.person(patient_value))
    return sorted(set(rows.values_list("source_orgnr", flat=True)))


def _granted_data(decision: Decision) -> dict[str, object]:
    if not decision.scopes:
        return {}
    return {"agreements": decision.agreement_ids, "municipalities": decision.municipalities}


def _linked_data(decision: Decision) -> dict[str, object]:
    """The patient's other numbers the read covered (the record's patient is the number asked about)."""
    return {"linked_patients": list(decision.linked)} if decision.linked else {}


def audited_read(
    *,
    by: Actor,
    event: str,
    decide: Callable[[], Decision],
    gather: Callable[[Decision], T],
    describe: Callable[[T], Mapping[str, object]],
    patient: NationalId | None = None,
    patient_text: str = "",
    basis: str = "",
    reason: str = "",
    context: Mapping[str, object] | None = None,
    lookup: bool = False,
    withheld: Callable[[T], bool] | None = None,
    about: Iterable[str] | None = None,
    success: str = "granted",
    at: dt.datetime | None = None,
) -> Access[T]:
    """Decide, gather (only when granted), record `event` (committed), then return.

    - `decide`: the decision (a patient read's `decide(...)`, or an auditor's scope as a decision);
    - `gather(decision)`: what the decision allows, built from `Measurement.objects.granted(decision)`
      for patient data; `describe(result)`: what the record says was made available;
    - `context`: put in every record (granted, denied, refused), e.g. an API query;
    - `lookup`: counted against the hourly limit (LookupRateLimited when used up, logged as denied);
    - `withheld(result)`: granted for the patient but nothing to hand out (a resource out of
      scope): logged as denied with `describe(result)`, and returned without a result;
    - `patient_text`: what the record names as the patient when it is no national identity number
      (an auditor's search for a partial number);
    - `about`: municipalities the record concerns besides the decision's and the patient's.

    Granted or denied, the read is logged; if logging fails, AuditUnavailable and nothing returned.
    """
    asked_at = at
    at = at or timezone.now()
    refused = False
    patient_value = patient.value if patient else patient_text
    extra = dict(context or {})
    counted = lookup and settings.LOOKUP_RATE_LIMIT_PER_HOUR > 0 and _who(by) is not None

    def record(granted: bool, data: Mapping[str, object], municipalities: Iterable[str]) -> None:
        record_event(
            event=event,
            outcome=success if granted else "denied",
            by=by,
            patient_system=patient.system if patient else "",
            patient_value=patient_value,
            data={**extra, **data},
            basis=basis,
            reason=reason,
            municipalities=sorted(set(municipalities) | set(about or ())),
            savepoint=not counted,
        )

    def read() -> Access[T]:
        decision = decide()
        linked = _linked_data(decision)
        if not decision.granted:
            denial = {"denial": str(decision.denial)} if decision.denial else {}
            record(False, {**denial, **linked}, holders_of(patient_value))
            return Access(patient, decision)
        # The one read-only part: on the standby when configured and current enough (sharing.core.replica).
        result = replica.on_standby(lambda: gather(decision))
        if withheld is not None and withheld(result):
            record(False, {**describe(result), **linked}, holders_of(patient_value))
            return Access(patient, decision)
        record(True, {**_granted_data(decision), **describe(result), **linked}, decision.municipalities)
        return Access(patient, decision, result)

    # A lookup's count and its record share one transaction (and the person's lock); any other
    # read's record, and a lookup with no limit to count against, commits on its own inside
    # record_event. In the shared transaction the record needs no savepoint of its own: if it
    # fails, the whole transaction rolls back and nothing is returned.
    with transaction.atomic() if counted else nullcontext():
        if counted:
            if lookup_rate_exceeded(by=by, at=asked_at, lock=True):
                record(False, {"denial": events.RATE_LIMITED}, holders_of(patient_value))
                refused = True
        if not refused:
            access = read()
    # Committed: the record is in the log before anything is handed out (or refused).
    if refused:
        raise LookupRateLimited
    return access
