"""Many writers at once on PostgreSQL: one unbroken chain, whatever the interleaving."""

import threading
from unittest import mock

import pytest
from django.db import IntegrityError, connection

from sharing.audit.actions import AuditUnavailable, record_event
from sharing.audit.models import AuditEvent
from sharing.audit.verify import verify_chain
from sharing.core.actor import Actor

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 6
EACH = 25


def _run_writers(write) -> list[BaseException]:
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        actor = Actor(sub=f"writer-{n}", name=f"Writer {n}", orgnr_parent="311111019")
        start.wait()
        try:
            for i in range(EACH):
                write(actor, i)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on below
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own database session

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_concurrent_writers_keep_one_chain():
    def write(actor: Actor, i: int) -> None:
        record_event(event="test.concurrent", outcome="success", by=actor, data={"i": i}, municipalities=["311111019"])

    errors = _run_writers(write)
    assert errors == []
    assert AuditEvent.objects.count() == WRITERS * EACH
    report = verify_chain()
    assert report.ok and report.checked == WRITERS * EACH
    # The chain's order is the id order and the time order.
    times = list(AuditEvent.objects.order_by("id").values_list("occurred_at", flat=True))
    assert times == sorted(times)


def test_without_the_lock_the_database_still_refuses_a_fork():
    """Writers that race past the lock read the same last record; only one of them may append."""
    failures: list[int] = []

    def write(actor: Actor, i: int) -> None:
        try:
            record_event(event="test.unlocked", outcome="success", by=actor, data={"i": i})
        except AuditUnavailable as exc:  # the write's own failure, caused by the refused fork
            if isinstance(exc.__cause__, IntegrityError):
                failures.append(i)
            else:
                raise

    with mock.patch("sharing.audit.actions._LOCK_SQL", "SELECT 1;"):
        errors = _run_writers(write)
    assert errors == []
    assert AuditEvent.objects.count() == WRITERS * EACH - len(failures)
    assert verify_chain().ok
