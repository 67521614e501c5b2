"""The per-person lookup limit: refused over the limit, logged as such, raised in the review queue."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from devdata import demo
from sharing.access import actions
from sharing.access.auditlog import agreement_units
from sharing.access.decision import Basis
from sharing.audit.models import AuditEvent
from sharing.audit.review import Rule, review_queue
from sharing.audit.scope import AuditScope
from sharing.core.actor import Actor, Role
from sharing.identifiers import parse_national_id
from tests.conftest import PATIENT, DevIdP, idp_login

pytestmark = pytest.mark.django_db(transaction=True)

INGRID = Actor(
    sub="sub-ingrid",
    hpr_number="565501872",
    name="Ingrid Berg",
    security_level="4",
    orgnr_parent=demo.LOVISENBERG,
    orgnr_child=demo.LOVISENBERG_MEDICAL,
    roles=frozenset({Role.CLINICIAN}),
)
KARI = parse_national_id(PATIENT)


def _lookup(at: dt.datetime, by: Actor = INGRID) -> actions.Access[Any]:
    return actions.open_patient(by=by, patient=KARI, basis=Basis.CARE, reason="Innlagt", at=at)


def test_lookups_over_the_hourly_limit_are_refused_logged_and_queued(patient_data: str, settings: Any) -> None:
    settings.LOOKUP_RATE_LIMIT_PER_HOUR = 3
    now = timezone.now()
    for minute in range(3):
        assert _lookup(now + dt.timedelta(minutes=minute)).decision.granted
    with pytest.raises(actions.LookupRateLimited):
        _lookup(now + dt.timedelta(minutes=5))
    with pytest.raises(actions.LookupRateLimited):
        _lookup(now + dt.timedelta(minutes=6))
    refused = AuditEvent.objects.filter(event="patient.lookup", outcome="denied")
    assert refused.count() == 2
    assert all(e.data == {"denial": "rate-limited"} and e.municipalities == demo.OSLO for e in refused)
    # Another person is not affected.
    other = Actor(**{**INGRID.__dict__, "sub": "sub-other", "name": "Annen Lege"})
    assert _lookup(now + dt.timedelta(minutes=7), by=other).decision.granted
    # The refusals do not count, so the limit frees up an hour after the third granted lookup.
    assert _lookup(now + dt.timedelta(minutes=62, seconds=1)).decision.granted

    items = [
        i
        for i in review_queue(AuditScope(frozenset({demo.OSLO})), units=agreement_units(), now=now)
        if i.rule == Rule.RATE_LIMITED
    ]
    assert len(items) == 1
    assert (items[0].actor_name, items[0].count, items[0].patients) == ("Ingrid Berg", 2, (PATIENT,))
    assert not review_queue(AuditScope(frozenset({demo.BAERUM})), units=agreement_units(), now=now)


def test_zero_turns_the_limit_off(patient_data: str, settings: Any) -> None:
    settings.LOOKUP_RATE_LIMIT_PER_HOUR = 0
    now = timezone.now()
    assert all(_lookup(now + dt.timedelta(seconds=s)).decision.granted for s in range(5))


def test_the_search_page_says_so_with_429_and_shows_nothing(
    client: Client, helseid: DevIdP, patient_data: str, settings: Any
) -> None:
    settings.LOOKUP_RATE_LIMIT_PER_HOUR = 1
    idp_login(client, helseid, "ingrid-berg")
    form = {"national_id": PATIENT, "basis": "care", "reason": "Innlagt"}
    assert client.post("/", form).status_code == 302
    response = client.post("/", form)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Kari" not in page and "For mange oppslag" in page
    assert AuditEvent.objects.filter(event="patient.lookup", data__denial="rate-limited").count() == 1


PARALLEL = 40


def test_parallel_lookups_with_one_left_grant_exactly_one(patient_data: str, settings: Any) -> None:
    """40 lookups at once, each on its own connection, with one lookup left: one is granted.

    Counting and then inserting without a lock let 5 of 40 through; the person's advisory lock,
    held from the count to the committed record, serialises them.
    """
    settings.LOOKUP_RATE_LIMIT_PER_HOUR = 3
    now = timezone.now()
    for minute in range(2):
        assert _lookup(now - dt.timedelta(minutes=10 - minute)).decision.granted
    start = threading.Barrier(PARALLEL)
    outcomes: list[str] = []

    def lookup() -> None:
        try:
            start.wait(timeout=60)
            access = actions.open_patient(by=INGRID, patient=KARI, basis=Basis.CARE, reason="Innlagt")
            outcomes.append("granted" if access.decision.granted else "denied")
        except actions.LookupRateLimited:
            outcomes.append("limited")
        except BaseException as exc:  # noqa: BLE001 - reported in the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()  # each thread has its own database session

    threads = [threading.Thread(target=lookup) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["granted"] + ["limited"] * (PARALLEL - 1)
    lookups = AuditEvent.objects.filter(event="patient.lookup")
    assert (lookups.filter(outcome="granted").count(), lookups.filter(outcome="denied").count()) == (3, PARALLEL - 1)


def test_a_system_client_is_counted_by_its_client_id_and_a_persons_lookups_through_it_are_not(settings: Any) -> None:
    """A token without a person (`sub`) is limited per client; the lookups of a person who used
    the same client count for the person. Without `at`, the count is of the last hour, unlocked."""
    from sharing.access.door import lookup_rate_exceeded
    from sharing.audit.actions import record_event

    settings.LOOKUP_RATE_LIMIT_PER_HOUR = 2
    system = Actor(client_id="epj-system", orgnr_parent=demo.LOVISENBERG)
    person = Actor(**{**INGRID.__dict__, "client_id": "epj-system"})

    def searched(by: Actor, event: str = "api.search", **data: str) -> None:
        record_event(event=event, outcome="granted", by=by, patient_value=PATIENT, data=data)

    searched(person)
    searched(person)
    assert lookup_rate_exceeded(by=person) and not lookup_rate_exceeded(by=system)
    searched(system)
    searched(system, denial="rate-limited")  # a refusal does not count
    searched(system, event="api.read")  # nor does a read by id
    assert not lookup_rate_exceeded(by=system)
    searched(system, event="api.lastn")
    assert lookup_rate_exceeded(by=system)
    assert not lookup_rate_exceeded(by=Actor(client_id="epj-other"))
    assert not lookup_rate_exceeded(by=system, at=timezone.now() + dt.timedelta(hours=1, seconds=1))
