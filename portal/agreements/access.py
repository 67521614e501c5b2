"""Who may open the municipality admin's pages, and the fetch helpers that 404 what is not theirs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from portal.login.acting import actor_for
from sharing.access.permissions import Permission, can
from sharing.agreements.models import Agreement, Organisation, Reservation
from sharing.core.actor import Actor

P = ParamSpec("P")


@dataclass(frozen=True)
class Admin:
    """The person on an admin page, and the municipality they act for."""

    actor: Actor
    municipality: Organisation

    def can(self, permission: Permission) -> bool:
        return can(self.actor, permission, municipality=self.municipality.orgnr)


def forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "agreements/forbidden.html", status=403)


def municipality_page(
    permission: Permission,
) -> Callable[[Callable[Concatenate[HttpRequest, Admin, P], HttpResponse]], Callable[..., HttpResponse]]:
    """The view runs only for someone with `permission` for the municipality they act for now."""

    def decorator(view: Callable[Concatenate[HttpRequest, Admin, P], HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            actor = actor_for(request)
            if not can(actor, permission, municipality=actor.orgnr_parent):
                return forbidden(request)
            municipality = Organisation.objects.municipalities().filter(orgnr=actor.orgnr_parent).first()
            if municipality is None:
                return forbidden(request)
            return view(request, Admin(actor, municipality), *args, **kwargs)

        return wrapped

    return decorator


def service_page(
    permission: Permission,
) -> Callable[[Callable[Concatenate[HttpRequest, Actor, P], HttpResponse]], Callable[..., HttpResponse]]:
    """The view runs only for someone with `permission` service-wide (the service admin)."""

    def decorator(view: Callable[Concatenate[HttpRequest, Actor, P], HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            actor = actor_for(request)
            if not can(actor, permission):
                return forbidden(request)
            return view(request, actor, *args, **kwargs)

        return wrapped

    return decorator


def agreement_of(admin: Admin, pk: int) -> Agreement:
    """One of the admin's municipality's agreements; 404 for every other, existing or not."""
    queryset = Agreement.objects.of_controller(admin.municipality.orgnr).select_related("controller", "consumer")
    return get_object_or_404(queryset, pk=pk)


def reservation_of(admin: Admin, pk: int) -> Reservation:
    return get_object_or_404(Reservation.objects.filter(municipality=admin.municipality), pk=pk)


def page_context(admin: Admin, **extra: Any) -> dict[str, Any]:
    return {"admin": admin, "municipality": admin.municipality, **extra}
