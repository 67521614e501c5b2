from typing import Any

from django.http import HttpRequest

from .units import CHOICE_COUNT_SESSION_KEY, acting_orgnr_child


def acting_user(request: HttpRequest) -> dict[str, Any]:
    """The HelseID profile of the logged-in person and the unit they act for, for the page header."""
    user = getattr(request, "user", None)
    profile = getattr(user, "helseid", None) if user is not None and user.is_authenticated else None
    if profile is None:
        return {"profile": None}
    return {
        "profile": profile,
        "acting_orgnr_child": acting_orgnr_child(request, profile),
        "can_choose_unit": request.session.get(CHOICE_COUNT_SESSION_KEY, 0) > 1,
    }
