"""Audited changes a logged-in person makes to how they act."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.db import transaction

from sharing.audit.actions import record_event
from sharing.core.actor import Actor

from .models import LoginSession, Profile


def end_login_sessions(*, sid: str, sub: str) -> int:
    """HelseID says its login session `sid` (of `sub`, when named) has ended: end the portal
    sessions it opened, each audited as `user.logout` (channel backchannel). Returns how many."""
    rows = LoginSession.objects.filter(sid=sid)
    if sub:
        rows = rows.filter(sub=sub)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    ended = 0
    for row in rows:
        if not store.exists(row.session_key):  # logged out here already, or expired
            row.delete()
            continue
        with transaction.atomic():
            record_event(
                event="user.logout",
                outcome="success",
                by=_actor(Profile.objects.filter(sub=row.sub).first(), row.sub),
                data={"channel": "backchannel", "sid": sid},
            )
            store.delete(row.session_key)
            row.delete()
        ended += 1
    return ended


def session_joined(*, profile: Profile, launch_key: str) -> None:
    """The EHR's frame took over the login of the portal's own window (portal.launch.handoff):
    audited as `user.session.joined` in the person's name, before the frame shows anything."""
    with transaction.atomic():
        record_event(
            event="user.session.joined",
            outcome="success",
            by=_actor(profile, profile.sub),
            data={"channel": "ehr-frame", "launch": launch_key},
        )


def _actor(profile: Profile | None, sub: str) -> Actor:
    if profile is None:
        return Actor(sub=sub, client_id=settings.OIDC_RP_CLIENT_ID)
    return Actor(
        sub=profile.sub,
        pid=profile.pid,
        hpr_number=profile.hpr_number,
        name=profile.name,
        security_level=profile.security_level,
        orgnr_parent=profile.orgnr_parent,
        orgnr_child=profile.orgnr_child,
        client_id=settings.OIDC_RP_CLIENT_ID,
    )
