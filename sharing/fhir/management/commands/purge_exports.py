"""Remove Bulk Data exports past EXPORT_RETENTION_HOURS (their NDJSON files); a dry run by default."""

from __future__ import annotations

import getpass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from sharing.core.actor import Actor, Role
from sharing.fhir.actions import purge_exports


class Command(BaseCommand):
    help = (
        "Remove the files of Bulk Data $export jobs finished more than EXPORT_RETENTION_HOURS ago "
        "(their status URL then answers 410). Counts only unless --apply. Audited; run it hourly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apply", action="store_true", help="Remove; without it only count.")

    def handle(self, *args: Any, **options: Any) -> None:
        by = Actor(
            name=f"purge_exports ({getpass.getuser()})",
            roles=frozenset({Role.SYSTEM_ADMIN}),
            client_id="manage.py purge_exports",
        )
        done = purge_exports(by=by, apply=options["apply"])
        verb = "Would remove" if done.dry_run else "Removed"
        hours = settings.EXPORT_RETENTION_HOURS
        self.stdout.write(f"{verb} {done.jobs} export job(s) with {done.files} file(s) older than {hours} h.")
