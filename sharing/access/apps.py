from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "sharing.access"
    label = "access"
