"""Who may open the auditor's pages: the one check, and the page context every page needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.login.acting import actor_for
from sharing.access.permissions import auditor_scope, reviewer_scope
from sharing.agreements.models import Organisation
from sharing.audit.scope import AuditScope
from sharing.core.actor import Actor
from sharing.core.outage import retry_after

P = ParamSpec("P")


@dataclass(frozen=True)
class Auditor:
    """The person on an auditor page, and the part of the log they may read."""

    actor: Actor
    scope: AuditScope

    @property
    def may_review(self) -> bool:
        return reviewer_scope(self.actor) is not None

    def scope_names(self) -> list[str]:
        """The municipalities (and, for a privacy officer, the organisation) the scope speaks for."""
        if self.scope.municipalities is None:
            return []
        orgnrs = sorted(self.scope.municipalities | self.scope.staff_of)
        names = Organisation.objects.filter(orgnr__in=orgnrs).values_list("name", flat=True)
        return sorted(names) or orgnrs


def auditor_page(
    view: Callable[Concatenate[HttpRequest, Auditor, P], HttpResponse],
) -> Callable[..., HttpResponse]:
    """The view runs only for someone who may read some of the log; everyone else gets 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        actor = actor_for(request)
        scope = auditor_scope(actor)
        if scope is None:
            return render(request, "auditor/forbidden.html", status=403)
        return view(request, Auditor(actor, scope), *args, **kwargs)

    return wrapped


def page_context(auditor: Auditor, *, tab: str, **extra: Any) -> dict[str, Any]:
    return {"auditor": auditor, "scope_names": auditor.scope_names(), "tab": tab, **extra}


def unavailable(request: HttpRequest) -> HttpResponse:
    """The log could not record this read, so it shows nothing (fail closed)."""
    response = render(request, "auditor/unavailable.html", status=503)
    response["Retry-After"] = retry_after()
    return response
