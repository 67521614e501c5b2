from django.apps import AppConfig


class LoginConfig(AppConfig):
    name = "portal.login"
    label = "login"
