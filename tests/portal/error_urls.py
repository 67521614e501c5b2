"""The portal's URLs plus one that fails, for the 500 page (tests/portal/test_error_pages.py)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from portal.urls import handler404, urlpatterns

__all__ = ["handler404", "urlpatterns"]


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("lookup of 30875928763 failed")  # an identifier in the error must not reach the page


urlpatterns = [path("feil/", fail), *urlpatterns]
