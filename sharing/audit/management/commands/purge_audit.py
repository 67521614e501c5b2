from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sharing.audit.actions import PurgeRefused, purge_expired
from sharing.core.actor import Actor, Role

# The purge runs from the operator's scheduler, not as a person; the checkpoint record says so.
PURGER = Actor(name="purge_audit", roles=frozenset({Role.SYSTEM_ADMIN}), client_id="purge_audit")


class Command(BaseCommand):
    help = (
        "Remove access-log records older than AUDIT_RETENTION_YEARS, through the owner's database function "
        "audit_purge(), which writes a checkpoint record so the log says what was removed and the chain still "
        "verifies. Run it with the owner's DATABASE_URL (docs/deploy.md)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = purge_expired(by=PURGER)
        except PurgeRefused as exc:
            raise CommandError(
                "The database refused the purge: run purge_audit as the owner role (the DATABASE_URL that runs "
                f"migrate), not as the runtime role. See docs/deploy.md. ({exc})"
            ) from exc
        if result.checkpoint is None:
            self.stdout.write(f"Nothing to remove: no record is older than {result.cutoff:%Y-%m-%d %H:%M}.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Removed {result.removed} records older than {result.cutoff:%Y-%m-%d %H:%M}; "
                f"checkpoint record {result.checkpoint.pk}."
            )
        )
