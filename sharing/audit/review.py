"""The review queue: rules that pick, from the log itself, the reads an auditor should look at.

Each rule reads recent patient-data events (`events.is_patient_access`) inside the auditor's
scope and yields items with a stable key. An auditor marks an item reviewed with a comment
(`actions.mark_reviewed`), which is itself a log record carrying the key; an item is reviewed
when such a record is visible in the auditor's scope. Thresholds live in settings (AUDIT_REVIEW_*).

The rules:
- every emergency (break-glass) read;
- bursts of denied reads: AUDIT_REVIEW_DENIED_BURST or more by one person within
  AUDIT_REVIEW_DENIED_BURST_MINUTES;
- one person reading more than AUDIT_REVIEW_PATIENTS_PER_DAY distinct patients in a day;
- reads at night (local time, AUDIT_REVIEW_NIGHT_START_HOUR to AUDIT_REVIEW_NIGHT_END_HOUR),
  one item per person and night;
- lookups refused for going over LOOKUP_RATE_LIMIT_PER_HOUR, one item per person and day;
- reads by units outside the agreement: denied because the unit is not covered, or granted
  to a unit that the agreement behind the read does not name (a check behind the decision's back).

A privacy officer's queue (a scope of its own staff, `AuditScope.staff_of`) runs these rules over
the staff's reads in every municipality, and three more (issue 16):
- self-lookups: the person read their own national ID; one item per person and day;
- colleagues: the patient is a member of the same organisation (its registered memberships,
  handed in by the caller); one item per person, colleague and day;
- a monthly random sample of AUDIT_REVIEW_SAMPLE_PER_MONTH granted lookups: each lookup of a
  (local) month is ranked by a keyed hash of the month and its id (the key is SECRET_KEY), so the
  sample is the same every time the queue is read, and no one can tell in advance which lookup
  will be picked.
Its items' keys carry the organisation ("org-<orgnr>:..."), so its sign-offs and a municipality's
or the service auditor's are separate marks on separate items.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Max, Min, Q
from django.db.models.functions import ExtractHour, TruncDate
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from . import events
from .models import AuditEvent, AuditEventQuerySet
from .scope import AuditScope

UNIT_DENIAL = "unit-not-covered"
RATE_DENIAL = events.RATE_LIMITED
_ROW_FIELDS = (
    "id",
    "occurred_at",
    "event",
    "outcome",
    "actor_sub",
    "actor_name",
    "actor_hpr",
    "actor_pid",
    "client_id",
    "org_parent",
    "org_parent_name",
    "org_child",
    "org_child_name",
    "patient_value",
    "basis",
    "reason",
    "municipalities",
)


class Rule(StrEnum):
    EMERGENCY = "emergency"
    DENIED_BURST = "denied-burst"
    MANY_PATIENTS = "many-patients"
    NIGHT = "night"
    OUTSIDE_UNIT = "outside-unit"
    RATE_LIMITED = "rate-limited"
    SELF_LOOKUP = "self-lookup"
    COLLEAGUE = "colleague"
    SAMPLE = "sample"


RULE_LABELS = {
    Rule.EMERGENCY: _("Emergency access"),
    Rule.DENIED_BURST: _("Several denied lookups in a short time"),
    Rule.MANY_PATIENTS: _("Many patients in one day"),
    Rule.NIGHT: _("Lookups at night"),
    Rule.OUTSIDE_UNIT: _("Unit outside the agreement"),
    Rule.RATE_LIMITED: _("Lookups blocked by the hourly limit"),
    Rule.SELF_LOOKUP: _("Looked up themselves"),
    Rule.COLLEAGUE: _("Looked up a colleague"),
    Rule.SAMPLE: _("Random sample of the month"),
}


@dataclass(frozen=True)
class Review:
    """An auditor's mark on an item."""

    event_id: int
    reviewer: str
    at: dt.datetime
    comment: str


@dataclass(frozen=True)
class ReviewItem:
    key: str
    rule: Rule
    first_at: dt.datetime
    last_at: dt.datetime
    actor_name: str
    actor_hpr: str
    organisation: str
    event_ids: tuple[int, ...]
    patients: tuple[str, ...]
    municipalities: tuple[str, ...]
    reason: str = ""  # the stated reason, for a single read (emergency)
    review: Review | None = None
    denied: int = 0  # how many of the events were refused: a denied attempt is labelled so
    org_parent: str = ""  # the organisation the person acted for (the queue's organisation filter)

    @property
    def all_denied(self) -> bool:
        return self.denied == len(self.event_ids)

    @property
    def rule_label(self) -> str:
        return str(RULE_LABELS[self.rule])

    @property
    def count(self) -> int:
        return len(self.event_ids)

    @property
    def patient_count(self) -> int:
        return len(self.patients)


@dataclass
class _Group:
    rows: list[dict[str, Any]] = field(default_factory=list)


def _actor_key(row: dict[str, Any]) -> str:
    return str(row["actor_sub"] or row["client_id"] or row["actor_name"])


def _organisation(row: dict[str, Any]) -> str:
    return " / ".join(name for name in (row["org_parent_name"], row["org_child_name"]) if name) or row["org_parent"]


def _item(key: str, rule: Rule, rows: list[dict[str, Any]], reason: str = "") -> ReviewItem:
    first = rows[0]
    return ReviewItem(
        key=key,
        rule=rule,
        first_at=min(r["occurred_at"] for r in rows),
        last_at=max(r["occurred_at"] for r in rows),
        actor_name=first["actor_name"] or first["client_id"],
        actor_hpr=first["actor_hpr"],
        organisation=_organisation(first),
        event_ids=tuple(r["id"] for r in rows),
        patients=tuple(sorted({r["patient_value"] for r in rows if r["patient_value"]})),
        municipalities=tuple(sorted({m for r in rows for m in r["municipalities"].split()})),
        reason=reason,
        denied=sum(1 for r in rows if r["outcome"] == "denied"),
        org_parent=first["org_parent"],
    )


def _local() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


# --- The rules -------------------------------------------------------------------------------


def emergencies(reads: AuditEventQuerySet) -> Iterator[ReviewItem]:
    """One case per episode: an emergency lookup and the page views and exports of the same
    patient by the same person that followed it within the emergency window."""
    window = dt.timedelta(hours=settings.EMERGENCY_ACCESS_HOURS)
    episodes: list[list[dict[str, Any]]] = []
    open_by: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in reads.filter(basis="emergency").order_by("occurred_at", "id").values(*_ROW_FIELDS):
        who = (row["actor_sub"] or row["client_id"], row["patient_value"], row["outcome"])
        episode = open_by.get(who)
        follows = episode is not None and row["occurred_at"] - episode[0]["occurred_at"] <= window
        if episode is not None and follows and row["event"] != events.PATIENT_LOOKUP:
            episode.append(row)
        else:
            open_by[who] = [row]
            episodes.append(open_by[who])
    for rows in episodes:
        yield _item(f"{Rule.EMERGENCY}:{rows[0]['id']}", Rule.EMERGENCY, rows, reason=rows[0]["reason"])


def denied_bursts(reads: AuditEventQuerySet) -> Iterator[ReviewItem]:
    """Runs of denied reads by one person where enough of them fall within the window."""
    least, window = settings.AUDIT_REVIEW_DENIED_BURST, dt.timedelta(minutes=settings.AUDIT_REVIEW_DENIED_BURST_MINUTES)
    by_actor: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in reads.filter(outcome="denied").order_by("occurred_at", "id").values(*_ROW_FIELDS):
        by_actor[_actor_key(row)].append(row)
    for rows in by_actor.values():
        for burst in _bursts(rows, least=least, window=window):
            yield _item(f"{Rule.DENIED_BURST}:{burst[0]['id']}", Rule.DENIED_BURST, burst)


def _bursts(rows: list[dict[str, Any]], *, least: int, window: dt.timedelta) -> Iterator[list[dict[str, Any]]]:
    """Maximal runs of rows in which every row lies in some window of `least` rows within `window`."""
    flagged = [False] * len(rows)
    start = 0
    for end, row in enumerate(rows):
        while row["occurred_at"] - rows[start]["occurred_at"] > window:
            start += 1
        if end - start + 1 >= least:
            flagged[start : end + 1] = [True] * (end - start + 1)
    run: list[dict[str, Any]] = []
    for row, hit in zip(rows, flagged, strict=True):
        if hit and run and row["occurred_at"] - run[-1]["occurred_at"] > window:
            yield run
            run = []
        if hit:
            run.append(row)
        elif run:
            yield run
            run = []
    if run:
        yield run


def many_patients(reads: AuditEventQuerySet) -> Iterator[ReviewItem]:
    """A person reading more distinct patients in one (local) day than AUDIT_REVIEW_PATIENTS_PER_DAY."""
    limit = settings.AUDIT_REVIEW_PATIENTS_PER_DAY
    days = (
        reads.exclude(patient_value="")
        .annotate(day=TruncDate("occurred_at", tzinfo=_local()))
        .values("actor_sub", "client_id", "day")
        .annotate(patients=Count("patient_value", distinct=True), first=Min("id"), last=Max("id"))
        .filter(patients__gt=limit)
        .order_by("day")
    )
    for day in days:
        rows = list(
            reads.filter(actor_sub=day["actor_sub"], client_id=day["client_id"], id__gte=day["first"])
            .filter(id__lte=day["last"])
            .order_by("id")
            .values(*_ROW_FIELDS)
        )
        rows = [r for r in rows if timezone.localtime(r["occurred_at"], _local()).date() == day["day"]]
        yield _item(f"{Rule.MANY_PATIENTS}:{_actor_key(rows[0])}:{day['day'].isoformat()}", Rule.MANY_PATIENTS, rows)


def _night_q() -> Q:
    start, end = settings.AUDIT_REVIEW_NIGHT_START_HOUR, settings.AUDIT_REVIEW_NIGHT_END_HOUR
    if start > end:  # across midnight, e.g. 23 to 6
        return Q(hour__gte=start) | Q(hour__lt=end)
    return Q(hour__gte=start, hour__lt=end)


def night_reads(reads: AuditEventQuerySet) -> Iterator[ReviewItem]:
    """Reads at night, one item per person and night (named by the evening it began)."""
    rows = reads.annotate(hour=ExtractHour("occurred_at", tzinfo=_local())).filter(_night_q()).order_by("id")
    nights: dict[tuple[str, dt.date], list[dict[str, Any]]] = defaultdict(list)
    for row in rows.values(*_ROW_FIELDS):
        local = timezone.localtime(row["occurred_at"], _local())
        evening = (
            local.date() if local.hour >= settings.AUDIT_REVIEW_NIGHT_START_HOUR else local.date() - dt.timedelta(1)
        )
        nights[(_actor_key(row), evening)].append(row)
    for (actor, evening), night in nights.items():
        yield _item(f"{Rule.NIGHT}:{actor}:{evening.isoformat()}", Rule.NIGHT, night)


# The agreements that name units, as the outside-unit rule needs them: agreement id -> (consumer
# orgnr, the units it covers). Read by the caller (sharing.access.auditlog.agreement_units), so
# the log does not import the agreements it logs about.
AgreementUnits = Mapping[int, tuple[str, frozenset[str]]]


def outside_unit(reads: AuditEventQuerySet, units: AgreementUnits) -> Iterator[ReviewItem]:
    """Reads by a unit the agreement does not cover: denied for it, or (should never be) granted."""
    denied = reads.filter(outcome="denied", data__denial=UNIT_DENIAL).order_by("id").values(*_ROW_FIELDS)
    for row in denied:
        yield _item(f"{Rule.OUTSIDE_UNIT}:{row['id']}", Rule.OUTSIDE_UNIT, [row])
    yield from _granted_outside_unit(reads, units)


def _granted_outside_unit(reads: AuditEventQuerySet, units: AgreementUnits) -> Iterator[ReviewItem]:
    units_of = {agreement: covered for agreement, (_consumer, covered) in units.items() if covered}
    if not units_of:
        return
    consumers = sorted({units[agreement][0] for agreement in units_of})
    allowed_units = set().union(*units_of.values())
    candidates = (
        reads.filter(outcome="granted", org_parent__in=list(consumers))
        .exclude(org_child__in=sorted(allowed_units))
        .order_by("id")
        .values(*_ROW_FIELDS, "data")
    )
    for row in candidates:
        agreements = [a for a in row["data"].get("agreements", []) if isinstance(a, int)]
        # Outside when every agreement behind the read names units, and none of them is this one.
        if agreements and all(units_of.get(a) and row["org_child"] not in units_of[a] for a in agreements):
            yield _item(f"{Rule.OUTSIDE_UNIT}:{row['id']}", Rule.OUTSIDE_UNIT, [row])


def rate_limited(reads: AuditEventQuerySet) -> Iterator[ReviewItem]:
    """Lookups refused for going over the hourly limit: one item per person and (local) day."""
    days: dict[tuple[str, dt.date], list[dict[str, Any]]] = defaultdict(list)
    for row in reads.filter(outcome="denied", data__denial=RATE_DENIAL).order_by("id").values(*_ROW_FIELDS):
        days[(_actor_key(row), timezone.localtime(row["occurred_at"], _local()).date())].append(row)
    for (actor, day), rows in days.items():
        yield _item(f"{Rule.RATE_LIMITED}:{actor}:{day.isoformat()}", Rule.RATE_LIMITED, rows)


RULES = (emergencies, denied_bursts, many_patients, night_reads, rate_limited)


# --- The privacy officer's rules (its own staff) ---------------------------------------------


def _local_day(row: dict[str, Any]) -> dt.date:
    return timezone.localtime(row["occurred_at"], _local()).date()


def self_lookups(reads: AuditEventQuerySet) -> Iterator[ReviewItem]:
    """Reads of the person's own national ID (granted or not): one item per person and day."""
    days: dict[tuple[str, dt.date], list[dict[str, Any]]] = defaultdict(list)
    rows = reads.exclude(actor_pid="").filter(patient_value=F("actor_pid")).order_by("id").values(*_ROW_FIELDS)
    for row in rows:
        days[(_actor_key(row), _local_day(row))].append(row)
    for (actor, day), found in days.items():
        yield _item(f"{Rule.SELF_LOOKUP}:{actor}:{day.isoformat()}", Rule.SELF_LOOKUP, found)


# Each organisation's members' national IDs, as orgnr -> lists or subqueries whose union they are:
# handed in by the caller (sharing.access.auditlog.colleagues_of), so the log does not import who
# works where.
Colleagues = Mapping[str, Sequence[Any]]


def colleague_lookups(reads: AuditEventQuerySet, colleagues: Colleagues) -> Iterator[ReviewItem]:
    """Reads of a patient who is a member of the organisation the reader acted for (not themself):
    one item per person, colleague and day."""
    found: dict[tuple[str, str, dt.date], list[dict[str, Any]]] = defaultdict(list)
    for orgnr, named in sorted(colleagues.items()):
        if not named:
            continue
        members = Q()
        for pids in named:
            members |= Q(patient_value__in=pids)
        rows = (
            reads.filter(members, org_parent=orgnr)
            .exclude(patient_value=F("actor_pid"))
            .order_by("id")
            .values(*_ROW_FIELDS)
        )
        for row in rows:
            found[(_actor_key(row), row["patient_value"], _local_day(row))].append(row)
    for (actor, patient, day), rows_ in found.items():
        yield _item(f"{Rule.COLLEAGUE}:{actor}:{patient}:{day.isoformat()}", Rule.COLLEAGUE, rows_)


def _sample_rank(month: str, pk: int) -> str:
    return salted_hmac("maaledata.audit.review-sample", f"{month}:{pk}").hexdigest()


def monthly_sample(reads: AuditEventQuerySet) -> Iterator[ReviewItem]:
    """AUDIT_REVIEW_SAMPLE_PER_MONTH granted lookups of each (local) month, picked by a keyed hash
    of the month and the record's id: the same picks every time, unknowable in advance."""
    size = settings.AUDIT_REVIEW_SAMPLE_PER_MONTH
    if size <= 0:
        return
    months: dict[str, list[int]] = defaultdict(list)
    lookups = reads.filter(event__in=events.LOOKUP_EVENTS, outcome="granted").values_list("id", "occurred_at")
    for pk, at in lookups:
        months[f"{timezone.localtime(at, _local()):%Y-%m}"].append(pk)
    picked = {
        pk: month for month, ids in months.items() for pk in sorted(ids, key=lambda i: _sample_rank(month, i))[:size]
    }
    if not picked:
        return
    for row in reads.filter(id__in=sorted(picked)).order_by("id").values(*_ROW_FIELDS):
        month = picked[row["id"]]
        yield _item(f"{Rule.SAMPLE}:{month}:{row['id']}", Rule.SAMPLE, [row])


# --- The queue -------------------------------------------------------------------------------


def recent_reads(scope: AuditScope, *, now: dt.datetime | None = None) -> AuditEventQuerySet:
    since = (now or timezone.now()) - dt.timedelta(days=settings.AUDIT_REVIEW_LOOKBACK_DAYS)
    return AuditEvent.objects.in_scope(scope).filter(occurred_at__gte=since).filter(events.patient_access_q())


def _key_prefix(scope: AuditScope) -> str:
    """A privacy officer's items are its organisation's own (see the module's docstring)."""
    return "".join(f"org-{orgnr}:" for orgnr in sorted(scope.staff_of)) if scope.staff_only else ""


def _reviews(scope: AuditScope, keys: Iterable[str]) -> dict[str, Review]:
    marks = (
        AuditEvent.objects.in_scope(scope)
        .filter(event=events.AUDIT_REVIEW, data__item__in=sorted(keys))
        .order_by("id")
        .values_list("id", "data", "actor_name", "occurred_at", "reason")
    )
    return {data["item"]: Review(pk, name, at, comment) for pk, data, name, at, comment in marks}


def review_queue(
    scope: AuditScope,
    *,
    units: AgreementUnits,
    colleagues: Colleagues | None = None,
    now: dt.datetime | None = None,
) -> list[ReviewItem]:
    """Every item the rules find in the scope's recent reads: unreviewed first, then newest first.
    A scope with staff (a privacy officer's) also gets the staff rules."""
    reads = recent_reads(scope, now=now)
    items = [item for rule in RULES for item in rule(reads)]
    items += outside_unit(reads, units)
    if scope.staff_of:
        staff_reads = reads.filter(org_parent__in=sorted(scope.staff_of))
        items += self_lookups(staff_reads)
        items += colleague_lookups(staff_reads, colleagues or {})
        items += monthly_sample(staff_reads)
    prefix = _key_prefix(scope)
    if prefix:
        items = [replace(item, key=prefix + item.key) for item in items]
    reviews = _reviews(scope, {item.key for item in items}) if items else {}
    items = [replace(item, review=reviews.get(item.key)) for item in items]
    items.sort(key=lambda item: item.last_at, reverse=True)
    items.sort(key=lambda item: item.review is not None)
    return items


def find_items(
    scope: AuditScope,
    keys: Iterable[str],
    *,
    units: AgreementUnits,
    colleagues: Colleagues | None = None,
    now: dt.datetime | None = None,
) -> list[ReviewItem] | None:
    """The queue items with these keys, in the order asked; None if the scope's queue lacks any
    of them (the reviewer's 404, whether it exists elsewhere or not)."""
    queue = {item.key: item for item in review_queue(scope, units=units, colleagues=colleagues, now=now)}
    wanted = list(dict.fromkeys(keys))
    if not wanted or any(key not in queue for key in wanted):
        return None
    return [queue[key] for key in wanted]


def find_item(
    scope: AuditScope,
    key: str,
    *,
    units: AgreementUnits,
    colleagues: Colleagues | None = None,
    now: dt.datetime | None = None,
) -> ReviewItem | None:
    """The queue item with this key, if the scope's queue has it (the reviewer's 404 otherwise)."""
    found = find_items(scope, [key], units=units, colleagues=colleagues, now=now)
    return found[0] if found else None


# --- The worklist's filters (issue 22) ---------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    """Which items of the queue to show: by rule, person, organisation, period and status."""

    rule: str = ""
    person: str = ""  # name (part of it) or HPR number
    organisation: str = ""  # name (part of it) or organisation number
    start: dt.date | None = None
    end: dt.date | None = None
    status: str = ""  # "open", "done" or "" for both

    def matches(self, item: ReviewItem) -> bool:
        return all(
            (
                not self.rule or item.rule == self.rule,
                not self.person or self._person(item),
                not self.organisation or self._organisation(item),
                self._period(item),
                not self.status or (item.review is None) == (self.status == "open"),
            )
        )

    def _person(self, item: ReviewItem) -> bool:
        return self.person == item.actor_hpr or self.person.casefold() in item.actor_name.casefold()

    def _organisation(self, item: ReviewItem) -> bool:
        return self.organisation == item.org_parent or self.organisation.casefold() in item.organisation.casefold()

    def _period(self, item: ReviewItem) -> bool:
        first, last = (timezone.localtime(at, _local()).date() for at in (item.first_at, item.last_at))
        return (self.start is None or last >= self.start) and (self.end is None or first <= self.end)

    def as_data(self) -> dict[str, str]:
        values = {
            "rule": self.rule,
            "person": self.person,
            "organisation": self.organisation,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            "status": self.status,
        }
        return {name: value for name, value in values.items() if value}


def filtered(items: list[ReviewItem], criteria: QueueFilter) -> list[ReviewItem]:
    return [item for item in items if criteria.matches(item)]
