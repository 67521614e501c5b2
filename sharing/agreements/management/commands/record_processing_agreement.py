"""Record (or change, by reference) a municipality's data processing agreement with this service."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sharing.agreements.actions import record_processing_agreement, set_municipality_number
from sharing.agreements.management.commands.authorise_sender import day
from sharing.agreements.models import Organisation
from sharing.core.actor import Actor, Role


class Command(BaseCommand):
    help = (
        "Record a municipality's data processing agreement (databehandleravtale): reference, signed, "
        "valid from/to, contact. The same reference again changes it. Ingest refuses data outside it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--municipality", required=True, help="The municipality's orgnr.")
        parser.add_argument("--reference", required=True, help="The agreement's reference (where it is filed).")
        parser.add_argument("--signed", required=True, help="The day it was signed (YYYY-MM-DD).")
        parser.add_argument("--from", dest="valid_from", required=True, help="First day in force (YYYY-MM-DD).")
        parser.add_argument("--to", dest="valid_to", default="", help="Last day in force; default open-ended.")
        parser.add_argument("--contact", default="", help="The municipality's contact for the agreement.")
        parser.add_argument(
            "--retention-months",
            type=int,
            default=None,
            help="Delete a patient's measurements this many months after their last one (purge_measurements).",
        )
        parser.add_argument(
            "--municipality-number", default="", help="The municipality's kommunenummer (four digits), if not known."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        by = Actor(
            name=f"record_processing_agreement ({getpass.getuser()})",
            roles=frozenset({Role.SYSTEM_ADMIN}),
            client_id="manage.py record_processing_agreement",
        )
        try:
            municipality = Organisation.objects.get(orgnr=options["municipality"])
        except Organisation.DoesNotExist as exc:
            raise CommandError(f"No organisation with orgnr {options['municipality']}.") from exc
        try:
            if options["municipality_number"]:
                set_municipality_number(municipality=municipality, number=options["municipality_number"], by=by)
            dpa = record_processing_agreement(
                municipality=municipality,
                reference=options["reference"],
                signed_on=day(options["signed"]),
                valid_from=day(options["valid_from"]),
                valid_to=day(options["valid_to"]) if options["valid_to"] else None,
                contact=options["contact"],
                retention_months=options["retention_months"],
                by=by,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Recorded {dpa.reference} for {municipality}."))
