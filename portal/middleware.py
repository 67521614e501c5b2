"""Norwegian unless the user has chosen otherwise; nothing the portal answers is kept in a cache."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers


class ChosenLanguageMiddleware:
    """Like LocaleMiddleware, but the browser's Accept-Language is not a choice: the portal is
    Norwegian by default, and English only for someone who picked it (the language cookie)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response the portal and the API make.

    Patient data and patient identifiers must not stay in a browser's or a proxy's cache (a
    shared ward PC, the back button after logout), so not storing is the default rather than
    something each view remembers: pages, CSV files, FHIR answers and error pages alike. It
    overrides whatever a view or a library set. Static files never reach it: WhiteNoise answers
    them before this middleware (it sits after WhiteNoise) with its own long cache lifetime.
    Portal pages also say they vary by the session cookie, for any cache that ignores no-store.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"  # HTTP/1.0 caches
        response.headers.pop("Expires", None)
        if not request.path.startswith("/fhir"):
            patch_vary_headers(response, ("Cookie",))
        return response
