from django.apps import AppConfig


class LaunchConfig(AppConfig):
    name = "portal.launch"
    label = "launch"
