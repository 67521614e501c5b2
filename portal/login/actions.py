"""Audited changes a logged-in person makes to how they act."""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction

from sharing.audit.actions import record_event
from sharing.core.actor import Actor

from .units import SESSION_KEY


def choose_unit(*, session: SessionBase, orgnr_child: str, by: Actor) -> None:
    """Act for the unit `orgnr_child` from now on; `by` is the Actor before the change.

    The caller has checked that the unit is one of the person's choices (units.unit_choices).
    """
    with transaction.atomic():
        record_event(
            event="user.unit.chosen",
            outcome="success",
            by=by,
            data={"from": by.orgnr_child, "to": orgnr_child},
        )
        session[SESSION_KEY] = orgnr_child
