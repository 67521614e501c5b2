"""The logged-in person as `sharing` sees them: an Actor built from their HelseID profile."""

from __future__ import annotations

import uuid

from django.http import HttpRequest

from sharing.access.actor import Actor, Role
from sharing.agreements.models import Organisation

from .models import Profile


def roles_for(profile: Profile) -> frozenset[Role]:
    # A clinician needs an HPR number, security level 4 and an organisation.
    if profile.hpr_number and profile.security_level == "4" and profile.orgnr_parent:
        return frozenset({Role.CLINICIAN})
    return frozenset()


def actor_for(request: HttpRequest) -> Actor:
    profile: Profile = request.user.helseid  # type: ignore[union-attr]
    names = dict(
        Organisation.objects.filter(orgnr__in=[profile.orgnr_parent, profile.orgnr_child]).values_list("orgnr", "name")
    )
    return Actor(
        sub=profile.sub,
        pid=profile.pid,
        hpr_number=profile.hpr_number,
        name=profile.name,
        security_level=profile.security_level,
        orgnr_parent=profile.orgnr_parent,
        orgnr_child=profile.orgnr_child,
        org_parent_name=names.get(profile.orgnr_parent, ""),
        org_child_name=names.get(profile.orgnr_child, ""),
        roles=roles_for(profile),
        client_id="maaledata-portal",
        request_id=request.headers.get("X-Request-Id", "") or uuid.uuid4().hex,
    )
