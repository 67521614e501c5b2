from typing import Any

from django.http import HttpRequest


def acting_user(request: HttpRequest) -> dict[str, Any]:
    """The HelseID profile of the logged-in person, for the page header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"profile": None}
    return {"profile": getattr(user, "helseid", None)}
