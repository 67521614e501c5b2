from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "sharing.fhir"
    label = "fhir"
