from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .acting import _organisation_names
from .units import CHOICE_COUNT_SESSION_KEY, acting_orgnr_child


def acting_user(request: HttpRequest) -> dict[str, Any]:
    """The HelseID profile of the logged-in person and the unit they act for, for the page header."""
    user = getattr(request, "user", None)
    profile = getattr(user, "helseid", None) if user is not None and user.is_authenticated else None
    if profile is None:
        return {"profile": None}
    child = acting_orgnr_child(request, profile)
    return {
        "profile": profile,
        "acting_orgnr_child": child,
        "can_choose_unit": request.session.get(CHOICE_COUNT_SESSION_KEY, 0) > 1,
        # The header names the organisation and unit from the register (one name everywhere),
        # the number only where the register does not know it.
        "org_names": SimpleLazyObject(lambda: _names(request, profile.orgnr_parent, child)),
    }


def _names(request: HttpRequest, parent: str, child: str) -> dict[str, str]:
    known = _organisation_names(request, parent, child)  # kept in the session, as the actor's
    return {"parent": known.get(parent, parent), "child": known.get(child, child) if child else ""}
