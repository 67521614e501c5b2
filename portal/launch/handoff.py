"""The login of the portal's own window, handed to the EHR's frame (docs/ehr-launch.md, "Embedded").

Inside the EHR's frame the portal's cookies are Partitioned (portal.security): the frame keeps a
session of its own, apart from the portal's own window, in browsers that block third-party
cookies and in those that do not. HelseID's pages refuse to be framed, so the person logs in in
a window of its own, which the frame opened (`window.open`); that window then offers its login:

1. `offer`: the logged-in window makes a handoff code, a short-lived, single-use record in the
   session store that names the window's session, and posts it to the frame that opened it
   (`postMessage`, to the portal's own origin only: a window opened by any other site gets
   nothing).
2. `take`: the frame sends the code back with its launch key; the frame's session, which holds
   the launch the EHR started, then becomes the window's session (the launch goes along), as if
   the browser shared its cookies with the frame.

The code never names the session key; it is worth nothing without a frame session that waits on
a launch from a registered EHR, and it is gone after one use or HANDOFF_SECONDS.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

HANDOFF = "launch.handoff"  # in the handoff record: the window's session key
HANDOFF_SECONDS = 60


def _store(session_key: str | None = None) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session_key)
    return store


def offer(request: HttpRequest) -> str:
    """A single-use code that hands this (logged-in) session to the frame that shows it."""
    if request.session.session_key is None:
        request.session.save()
    record = _store()
    record[HANDOFF] = request.session.session_key
    record.set_expiry(HANDOFF_SECONDS)
    record.create()
    assert record.session_key is not None  # noqa: S101 - create() made one
    return record.session_key


def take(request: HttpRequest, code: str, *, keep: Iterable[str]) -> bool:
    """Make this (the frame's) session the one `code` was offered for, carrying the entries `keep`
    (the frame's launches) over. False, and nothing changed, for a used, expired or unknown code,
    or when the window's session has ended since."""
    record = _store(code[:100] or None)
    window_key = record.get(HANDOFF)
    if record.session_key:
        record.delete(record.session_key)  # single use
    if not isinstance(window_key, str):
        return False
    if window_key == request.session.session_key:
        return True  # one site: the window and the frame share their cookies, and so the session
    window = _store(window_key)
    if not window.get(SESSION_KEY):
        return False
    for name in keep:
        if isinstance(mine := request.session.get(name), dict):
            window[name] = {**window.get(name, {}), **mine}
    request.session.delete()
    request.session = window
    window.modified = True  # so SessionMiddleware saves it and sets the frame's cookie to it
    return True
