from typing import Any

from django.core.management.base import BaseCommand

from sharing.audit.actions import purge_expired
from sharing.core.actor import Actor, Role

# The purge runs from the operator's scheduler, not as a person; the checkpoint record says so.
PURGER = Actor(name="purge_audit", roles=frozenset({Role.SYSTEM_ADMIN}), client_id="purge_audit")


class Command(BaseCommand):
    help = (
        "Remove access-log records older than AUDIT_RETENTION_YEARS. Writes a checkpoint record first, "
        "so the log says what was removed and the chain still verifies."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = purge_expired(by=PURGER)
        if result.checkpoint is None:
            self.stdout.write(f"Nothing to remove: no record is older than {result.cutoff:%Y-%m-%d %H:%M}.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Removed {result.removed} records older than {result.cutoff:%Y-%m-%d %H:%M}; "
                f"checkpoint record {result.checkpoint.pk}."
            )
        )
