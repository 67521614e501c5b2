"""The access log's link in the page header, for those who may read the log."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from portal.login.acting import request_grants
from sharing.access.permissions import auditor_scope
from sharing.core.actor import Actor


def _links(request: HttpRequest) -> list[dict[str, str]]:
    user = getattr(request, "user", None)
    profile = getattr(user, "helseid", None) if user is not None and user.is_authenticated else None
    if profile is None:
        return []
    actor = Actor(grants=request_grants(request))
    if auditor_scope(actor) is None:
        return []
    return [{"url": reverse("auditor:log"), "label": _("Access log")}]


def auditor_links(request: HttpRequest) -> dict[str, Any]:
    """Evaluated only when a template reads it: one query (the person's live grants)."""
    return {"auditor_links": SimpleLazyObject(lambda: _links(request))}
