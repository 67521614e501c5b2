from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import include, path
from django.views import defaults
from django.views.generic import RedirectView

from portal.errors import server_error
from sharing.fhir.views import not_found as fhir_not_found
from sharing.fhir.views import system as fhir_system

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page links; the icon is public, like the login page.
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
        name="favicon",
    ),
    path("", include("portal.login.urls")),
    path("", include("portal.launch.urls")),  # SMART on FHIR EHR launch (docs/ehr-launch.md)
    path("fhir", fhir_system, name="fhir-system"),  # POST [base] with a batch/transaction Bundle
    path("fhir/", include("sharing.fhir.urls")),
    path("", include("portal.clinician.urls")),
    path("kommune/", include("portal.agreements.urls")),
    path("tjeneste/", include("portal.agreements.service_urls")),
    path("revisjon/", include("portal.auditor.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the footer's language switch
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Under /fhir a URL that names nothing is answered as the API answers (an OperationOutcome)."""
    if request.path == "/fhir" or request.path.startswith("/fhir/"):
        return fhir_not_found(request, exception)
    return defaults.page_not_found(request, exception)


handler404 = not_found
handler500 = server_error
