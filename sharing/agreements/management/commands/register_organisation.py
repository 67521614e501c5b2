"""Register an organisation (legal entity or unit) so agreements can name it."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sharing.agreements.actions import register_organisation
from sharing.agreements.models import Organisation
from sharing.core.actor import Actor


class Command(BaseCommand):
    help = "Add or update an organisation: orgnr (checked), name, kind, and for a unit its legal entity."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orgnr", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=[kind.value for kind in Organisation.Kind])
        parser.add_argument("--parent", default="", help="Orgnr of the legal entity, when this is a unit.")

    def handle(self, *args: Any, **options: Any) -> None:
        by = Actor(name=f"register_organisation ({getpass.getuser()})", client_id="manage.py register_organisation")
        try:
            parent = Organisation.objects.get(orgnr=options["parent"]) if options["parent"] else None
            org = register_organisation(
                orgnr=options["orgnr"], name=options["name"], kind=options["kind"], parent=parent, by=by
            )
        except Organisation.DoesNotExist as exc:
            raise CommandError(f"No organisation with orgnr {options['parent']}.") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Registered {org}."))
