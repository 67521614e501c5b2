from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _regrant(sender: AppConfig, using: str, **kwargs: Any) -> None:
    """After `migrate` as the owner: keep each runtime role's privileges exact (docs/deploy.md)."""
    from . import dbroles

    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    for role in dbroles.remembered_roles(connection):
        dbroles.grant(connection, role)


class AuditConfig(AppConfig):
    name = "sharing.audit"
    label = "audit"

    def ready(self) -> None:
        post_migrate.connect(_regrant, sender=self, dispatch_uid="audit.regrant")
