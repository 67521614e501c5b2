"""Delete measurements past each municipality's retention rule; a dry run unless --apply."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from sharing.core.actor import Actor, Role
from sharing.measurements.retention import purge


class Command(BaseCommand):
    help = (
        "Per municipality with a retention rule (its data processing agreement's retention months), count the "
        "patients whose last measurement is older than the rule and their measurements; --apply deletes them. "
        "Audited per municipality; safe to re-run (a second run finds nothing)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apply", action="store_true", help="Delete; without it, only count (dry run).")

    def handle(self, *args: Any, **options: Any) -> None:
        by = Actor(
            name=f"purge_measurements ({getpass.getuser()})",
            roles=frozenset({Role.SYSTEM_ADMIN}),
            client_id="manage.py purge_measurements",
        )
        apply = bool(options["apply"])
        results = purge(now=timezone.now(), by=by, apply=apply)
        verb = "Deleted" if apply else "Would delete"
        for r in results:
            self.stdout.write(
                f"{r.municipality}: {verb} {r.measurements} measurements of {r.patients} patients "
                f"(last measurement before {r.cutoff:%Y-%m-%d}, rule {r.months} months)."
            )
        if not results:
            self.stdout.write("No municipality has a retention rule.")
        if not apply:
            self.stdout.write("Dry run: nothing deleted. Run with --apply to delete.")
