"""Each role's own home page: where "/" sends a person who is not a clinician."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from sharing.access import members
from sharing.core.actor import Role

from .acting import request_grants, roles_for


def home_for(request: HttpRequest) -> str | None:
    """The home of the logged-in person's first non-clinical role; None for a clinician, and
    for a person with no role at all (the caller says so)."""
    profile = request.user.helseid  # type: ignore[union-attr]
    if Role.CLINICIAN in roles_for(profile):
        return None
    if not profile.orgnr_parent:
        return reverse("login-no-membership")
    if members.admin_of(pid=profile.pid, orgnr_parent=profile.orgnr_parent, on=timezone.localdate()):
        return reverse("members")
    held = {role for role, _municipality in request_grants(request)}
    if Role.MUNICIPALITY_ADMIN in held:
        return reverse("agreements_admin:list")
    if held & {Role.AUDITOR, Role.SERVICE_AUDITOR, Role.ORG_AUDITOR}:
        return reverse("auditor:log")
    if Role.SYSTEM_ADMIN in held:
        return reverse("service:organisations")
    return None
