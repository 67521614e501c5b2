"""Links to the admin pages in the page header, for those whose grants reach them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from portal.login.acting import request_grants
from sharing.access.permissions import Permission, can
from sharing.core.actor import Actor


def _links(request: HttpRequest) -> list[dict[str, str]]:
    user = getattr(request, "user", None)
    profile = getattr(user, "helseid", None) if user is not None and user.is_authenticated else None
    if profile is None:
        return []
    actor = Actor(grants=request_grants(request))
    here = profile.orgnr_parent
    municipal = any(municipality == here for _role, municipality in actor.grants)
    links = []
    if municipal and can(actor, Permission.VIEW_AGREEMENTS, municipality=here):
        links.append({"url": reverse("agreements_admin:list"), "label": _("Agreements")})
    if municipal and can(actor, Permission.MANAGE_RESERVATIONS, municipality=here):
        links.append({"url": reverse("agreements_admin:reservations"), "label": _("Reservations")})
    if municipal and can(actor, Permission.VIEW_INGEST_QUALITY, municipality=here):
        links.append({"url": reverse("agreements_admin:quality"), "label": _("Data quality")})
    if municipal and can(actor, Permission.VIEW_AGREEMENTS, municipality=here):
        links.append({"url": reverse("agreements_admin:processing"), "label": _("Data processing")})
    if municipal and can(actor, Permission.DELETE_PATIENT_DATA, municipality=here):
        links.append({"url": reverse("agreements_admin:deletions"), "label": _("Patient data deletion")})
    if municipal and can(actor, Permission.LINK_IDENTITIES, municipality=here):
        links.append({"url": reverse("agreements_admin:identities"), "label": _("Identity")})
    if can(actor, Permission.MANAGE_PROCESSING_REGISTER):
        links.append({"url": reverse("agreements_admin:register"), "label": _("Processing register")})
    if can(actor, Permission.MANAGE_ORGANISATIONS):
        links.append({"url": reverse("service:organisations"), "label": _("Organisations")})
    manages_roles = can(actor, Permission.MANAGE_MUNICIPAL_ROLES, municipality=here) or can(
        actor, Permission.MANAGE_SERVICE_ROLES
    )
    if manages_roles:
        links.append({"url": reverse("agreements_admin:roles"), "label": _("Roles")})
    return links


def admin_links(request: HttpRequest) -> dict[str, Any]:
    """Evaluated only when a template reads it: one query (the person's live grants)."""
    return {"admin_links": SimpleLazyObject(lambda: _links(request))}
