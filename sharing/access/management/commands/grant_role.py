"""Grant or revoke a role from the shell: how the first system admin comes to exist.

Whoever runs this has the server's shell, so no portal permission is asked; the change is
audited like one made in the portal, with the operating-system user named as the actor.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sharing.access.models import GRANTABLE_ROLES, RoleGrant
from sharing.access.people import masked
from sharing.access.roles import grant_role, revoke_role
from sharing.agreements.models import Organisation
from sharing.core.actor import Actor, Role


class Command(BaseCommand):
    help = "Grant (or with --revoke, revoke) a portal role to a person identified by national identity number."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pid", required=True, help="The person's fødselsnummer or D-number (HelseID pid).")
        parser.add_argument("--role", required=True, choices=sorted(str(role) for role in GRANTABLE_ROLES))
        parser.add_argument(
            "--municipality",
            default="",
            help="Orgnr of the municipality, for municipal roles; of the reading organisation, for org_auditor.",
        )
        parser.add_argument("--revoke", action="store_true", help="Revoke the live grant instead of granting.")

    def handle(self, *args: Any, **options: Any) -> None:
        by = Actor(name=f"grant_role ({getpass.getuser()})", client_id="manage.py grant_role")
        role = Role(options["role"])
        municipality = self._municipality(options["municipality"])
        try:
            if options["revoke"]:
                grant = RoleGrant.objects.live().get(pid=options["pid"], role=role, municipality=municipality)
                revoke_role(grant=grant, by=by)
                self.stdout.write(self.style.SUCCESS(f"Revoked {role} from {grant.name or masked(grant.pid)}."))
                return
            grant = grant_role(pid=options["pid"], role=role, municipality=municipality, by=by)
        except RoleGrant.DoesNotExist as exc:
            raise CommandError("No live grant of that role for that person.") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        # The name is HelseID's, from the person's last login (none yet: the number, masked).
        self.stdout.write(self.style.SUCCESS(f"Granted {role} to {grant.name or masked(grant.pid)}."))

    def _municipality(self, orgnr: str) -> Organisation | None:
        if not orgnr:
            return None
        try:
            return Organisation.objects.get(orgnr=orgnr)
        except Organisation.DoesNotExist as exc:
            raise CommandError(f"No organisation with orgnr {orgnr}.") from exc
