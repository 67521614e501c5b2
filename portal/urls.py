from django.urls import include, path

from sharing.fhir.views import system as fhir_system

urlpatterns = [
    path("", include("portal.login.urls")),
    path("fhir", fhir_system, name="fhir-system"),  # POST [base] with a batch/transaction Bundle
    path("fhir/", include("sharing.fhir.urls")),
    path("", include("portal.clinician.urls")),
    path("kommune/", include("portal.agreements.urls")),
    path("revisjon/", include("portal.auditor.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the footer's language switch
]
