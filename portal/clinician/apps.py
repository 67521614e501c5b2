from django.apps import AppConfig


class ClinicianConfig(AppConfig):
    name = "portal.clinician"
    label = "clinician"
