"""Let a system client send measurements for a municipality (or end that), on the municipality's instruction."""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from sharing.agreements.actions import authorise_sender, end_sender_authorisation
from sharing.agreements.models import Organisation, SenderAuthorisation
from sharing.core.actor import Actor, Role


def day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Authorise a system client (HelseID client_id) to send for a municipality from a day, on whose "
        "instruction; --end DATE ends the client's authorisations for it instead. Without --municipality, lists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", required=True, help="The sender's HelseID client_id.")
        parser.add_argument("--municipality", default="", help="The municipality's orgnr.")
        parser.add_argument("--from", dest="valid_from", default="", help="First day (YYYY-MM-DD); default today.")
        parser.add_argument("--to", dest="valid_to", default="", help="Last day (YYYY-MM-DD); default open-ended.")
        parser.add_argument("--instructed-by", default="", help="On whose instruction (person, letter, case number).")
        parser.add_argument("--name", default="", help="The client's name, for people reading the register.")
        parser.add_argument("--end", default="", help="End the client's authorisations for the municipality on DATE.")

    def handle(self, *args: Any, **options: Any) -> None:
        by = Actor(
            name=f"authorise_sender ({getpass.getuser()})",
            roles=frozenset({Role.SYSTEM_ADMIN}),
            client_id="manage.py authorise_sender",
        )
        client_id = options["client_id"]
        if not options["municipality"]:
            for row in SenderAuthorisation.objects.filter(client_id=client_id).select_related("municipality"):
                until = row.valid_to.isoformat() if row.valid_to else "…"
                self.stdout.write(f"{row.municipality} {row.valid_from.isoformat()}–{until} ({row.instructed_by})")
            return
        try:
            municipality = Organisation.objects.get(orgnr=options["municipality"])
        except Organisation.DoesNotExist as exc:
            raise CommandError(f"No organisation with orgnr {options['municipality']}.") from exc
        try:
            if options["end"]:
                on = day(options["end"])
                rows = SenderAuthorisation.objects.in_force(on=on).filter(
                    client_id=client_id, municipality=municipality
                )
                if not rows.exists():
                    raise CommandError(f"{client_id} has no authorisation for {municipality} in force on {on}.")
                for row in rows:
                    end_sender_authorisation(authorisation=row, on=on, by=by)
                self.stdout.write(self.style.SUCCESS(f"{client_id} may send for {municipality} until {on}."))
                return
            row = authorise_sender(
                client_id=client_id,
                client_name=options["name"],
                municipality=municipality,
                valid_from=day(options["valid_from"]) if options["valid_from"] else timezone.localdate(),
                valid_to=day(options["valid_to"]) if options["valid_to"] else None,
                instructed_by=options["instructed_by"],
                by=by,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"{row.client_id} may send for {municipality} from {row.valid_from}."))
