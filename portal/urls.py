from django.urls import include, path

urlpatterns = [
    path("", include("portal.login.urls")),
    path("fhir/", include("sharing.fhir.urls")),
    path("", include("portal.clinician.urls")),
]
