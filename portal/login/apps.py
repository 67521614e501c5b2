from django.apps import AppConfig


class LoginConfig(AppConfig):
    name = "portal.login"
    label = "login"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the start-up checks)
