"""Role grants: a municipality admin manages their municipality's admins and auditors; a system
admin manages every municipal role and the service roles. Never by a claim alone."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.login.acting import actor_for
from portal.login.people import with_names
from sharing.access import people
from sharing.access.models import MUNICIPAL_ROLES, ORGANISATION_ROLES, SERVICE_ROLES, RoleGrant, RoleGrantQuerySet
from sharing.access.people import masked
from sharing.access.permissions import Permission, can, municipalities_for
from sharing.access.roles import grant_role, revoke_role
from sharing.core.actor import Actor, Role

from ..access import forbidden
from ..forms import GrantForm, municipalities_qs
from .common import form_status, run_action


@dataclass(frozen=True)
class RoleScope:
    """Which grants this person may manage: municipal roles where (None: everywhere), service roles or not."""

    actor: Actor
    municipalities: frozenset[str] | None
    service: bool

    @classmethod
    def of(cls, actor: Actor) -> RoleScope:
        municipal = municipalities_for(actor, Permission.MANAGE_MUNICIPAL_ROLES)
        return cls(actor, municipal, can(actor, Permission.MANAGE_SERVICE_ROLES))

    @property
    def organisation_roles(self) -> bool:
        """The privacy officers of reading organisations: granted by the system admin."""
        return can(self.actor, Permission.MANAGE_ORGANISATION_ROLES)

    @property
    def allowed(self) -> bool:
        return self.municipalities is None or bool(self.municipalities) or self.service

    @property
    def roles(self) -> frozenset[Role]:
        municipal = MUNICIPAL_ROLES if self.municipalities is None or self.municipalities else frozenset()
        organisation = ORGANISATION_ROLES if self.organisation_roles else frozenset()
        return municipal | organisation | (SERVICE_ROLES if self.service else frozenset())

    def grants(self) -> RoleGrantQuerySet:
        visible = (
            Q(role__in=sorted(MUNICIPAL_ROLES), municipality__isnull=False)
            if self.municipalities is None
            else Q(role__in=sorted(MUNICIPAL_ROLES), municipality__orgnr__in=sorted(self.municipalities))
        )
        if self.organisation_roles:
            visible |= Q(role__in=sorted(ORGANISATION_ROLES))
        if self.service:
            visible |= Q(municipality__isnull=True)
        return RoleGrant.objects.live().filter(visible).select_related("municipality")


@require_http_methods(["GET", "POST"])
def role_list(request: HttpRequest) -> HttpResponse:
    scope = RoleScope.of(actor_for(request))
    if not scope.allowed:
        return forbidden(request)
    form = GrantForm(request.POST or None, roles=scope.roles, municipalities=municipalities_qs(scope.municipalities))
    granted = run_action(form, lambda: _grant(form, scope.actor)) if form.ready else None
    if granted is not None:
        who = granted.name or masked(granted.pid)
        messages.success(request, _("%(name)s now has the role %(role)s.") % {"name": who, "role": granted.role_label})
        return redirect("agreements_admin:roles")
    grants = with_names(scope.grants().order_by("municipality__name", "role", "granted_at"), by_name=False)
    context = {"form": form, "grants": grants, "scope": scope}
    # A valid form not yet confirmed shows whom the number names (200); errors are 400.
    status = 200 if form.is_bound and form.found is not None and not form.errors else form_status(form)
    return render(request, "agreements/roles.html", context, status=status)


def _grant(form: GrantForm, by: Actor) -> RoleGrant:
    data = form.cleaned_data
    return grant_role(pid=data["person"].pid, role=data["role"], municipality=data["municipality"], by=by)


@require_POST
def role_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    scope = RoleScope.of(actor_for(request))
    if not scope.allowed:
        return forbidden(request)
    grant = get_object_or_404(scope.grants(), pk=pk)
    revoke_role(grant=grant, by=scope.actor)
    who = people.names(pids=[grant.pid]).get(grant.pid) or masked(grant.pid)
    messages.success(request, _("The role is revoked from %(name)s.") % {"name": who})
    return redirect("agreements_admin:roles")
