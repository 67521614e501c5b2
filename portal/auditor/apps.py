from django.apps import AppConfig


class AuditorConfig(AppConfig):
    name = "portal.auditor"
    label = "auditor"
