"""The logged-in person as `sharing` sees them: an Actor built from their HelseID profile."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest

from sharing.access import roles
from sharing.agreements.models import Organisation
from sharing.core.actor import Actor, Role, approvals_from

from .models import Profile
from .units import acting_orgnr_child


def roles_for(profile: Profile) -> frozenset[Role]:
    """The clinician role follows from HelseID's claims; every other role is a grant (grants_for)."""
    if roles.is_clinician(
        hpr_number=profile.hpr_number, security_level=profile.security_level, orgnr_parent=profile.orgnr_parent
    ):
        return frozenset({Role.CLINICIAN})
    return frozenset()


def grants_for(profile: Profile) -> frozenset[tuple[Role, str]]:
    """Roles granted in the portal (sharing.access.roles), for the organisation acted for now."""
    return roles.grants_for(pid=profile.pid, orgnr_parent=profile.orgnr_parent)


def request_grants(request: HttpRequest) -> frozenset[tuple[Role, str]]:
    """The logged-in person's grants, read once per request (the header menus and views share it)."""
    cached: frozenset[tuple[Role, str]] | None = getattr(request, "_acting_grants", None)
    if cached is None:
        cached = grants_for(request.user.helseid)  # type: ignore[union-attr]
        request._acting_grants = cached  # type: ignore[attr-defined]
    return cached


def _organisation_names(request: HttpRequest, parent: str, child: str) -> dict[str, str]:
    """Names of the organisation and unit acted for, kept in the session: they rarely change."""
    key = f"{parent}:{child}"
    cached = request.session.get("acting.org_names", {})
    if key not in cached:
        names = dict(Organisation.objects.filter(orgnr__in=[parent, child]).values_list("orgnr", "name"))
        cached = {key: names}
        request.session["acting.org_names"] = cached
    return dict(cached[key])


def actor_for(request: HttpRequest) -> Actor:
    profile: Profile = request.user.helseid  # type: ignore[union-attr]
    # The unit chosen for this session (portal.login.units), else the one HelseID named.
    orgnr_child = acting_orgnr_child(request, profile)
    names = _organisation_names(request, profile.orgnr_parent, orgnr_child)
    return Actor(
        sub=profile.sub,
        pid=profile.pid,
        hpr_number=profile.hpr_number,
        name=profile.name,
        security_level=profile.security_level,
        orgnr_parent=profile.orgnr_parent,
        orgnr_child=orgnr_child,
        org_parent_name=names.get(profile.orgnr_parent, ""),
        org_child_name=names.get(orgnr_child, ""),
        roles=roles_for(profile),
        grants=request_grants(request),
        client_id=settings.OIDC_RP_CLIENT_ID,
        request_id=request.headers.get("X-Request-Id", "") or uuid.uuid4().hex,
        # What HelseID's hpr_details said at login ({} when none: no authorisation is known).
        approvals=approvals_from(profile.hpr_details or {}) if profile.hpr_number else (),
    )
