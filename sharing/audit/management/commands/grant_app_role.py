import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from sharing.audit import dbroles


class Command(BaseCommand):
    help = (
        "Run as the owner (the DATABASE_URL that runs migrate), after migrate: create the runtime role ROLE if it "
        "is missing (password from APP_ROLE_PASSWORD, if set) and grant it exactly what the code needs; with "
        "--check, change nothing and report every privilege that is too wide or missing (exit 1 if any). "
        "See docs/deploy.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the runtime role the portal, workers and user-serving commands log in as")
        parser.add_argument("--check", action="store_true", help="only report what is too wide or missing")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        role: str = options["role"]
        if connection.vendor != "postgresql":
            self.stdout.write(
                f"The {connection.vendor} database has no roles: nothing to grant (the runtime role is for PostgreSQL)."
            )
            return
        if options["check"]:
            self._check(connection, role)
            return
        if not dbroles.is_owner(connection):
            raise CommandError(
                "grant_app_role grants as the owner of the tables: run it with the DATABASE_URL that runs migrate, "
                "after migrate (docs/deploy.md). --check works from any login."
            )
        created = dbroles.create_role(connection, role, os.environ.get("APP_ROLE_PASSWORD", ""))
        dbroles.grant(connection, role)
        self.stdout.write(f"Role {role} {'created' if created else 'exists'}; privileges granted.")
        self._check(connection, role)

    def _check(self, connection: Any, role: str) -> None:
        problems, checked = dbroles.check(connection, role)
        for problem in problems:
            self.stdout.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} privileges of {role} are too wide or missing (listed above).")
        self.stdout.write(
            self.style.SUCCESS(
                f"Role {role}: {checked} tables and sequences checked; every privilege is what the code needs "
                "(audit tables SELECT, INSERT; purge ledger and django_migrations SELECT; others SELECT, INSERT, "
                "UPDATE, DELETE; no TRUNCATE, ownership, CREATE or audit_purge())."
            )
        )
