from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "sharing.audit"
    label = "audit"
