"""Link a D-number or FHN to the fødselsnummer that replaced it, on a municipality's instruction."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sharing.core.actor import Actor, Role
from sharing.identifiers import SYSTEM_FNR
from sharing.measurements.identity import link_identity, parse_identifier
from sharing.measurements.models import IdentityLink


def links_in_patient(resource: Any) -> list[tuple[str, str]]:
    """(old, new) tokens from a FHIR Patient: its fødselsnummer identifier and each
    ``link`` of type ``replaces`` whose ``other`` names the old number by identifier."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        raise CommandError("The file must hold one FHIR Patient resource.")
    fnrs = [i for i in resource.get("identifier") or [] if isinstance(i, dict) and i.get("system") == SYSTEM_FNR]
    if len(fnrs) != 1:
        raise CommandError(f"The Patient must have exactly one identifier with system {SYSTEM_FNR}.")
    new = f"{SYSTEM_FNR}|{fnrs[0].get('value', '')}"
    found = []
    for link in resource.get("link") or []:
        if not isinstance(link, dict):
            continue
        other = link.get("other")
        ident = other.get("identifier") if isinstance(other, dict) else None
        if link.get("type") == "replaces" and isinstance(ident, dict):
            found.append((f"{ident.get('system', '')}|{ident.get('value', '')}", new))
    if not found:
        raise CommandError('The Patient has no link of type "replaces" naming the old number by identifier.')
    return found


class Command(BaseCommand):
    help = (
        "Link a D-number or FHN (--old) to the fødselsnummer that replaced it (--new), or every "
        "'replaces' link of a FHIR Patient (--patient FILE), on the municipality's instruction. "
        "Numbers as system|value or bare. Without --old/--patient, lists the municipality's links."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--municipality", required=True, help="The instructing municipality's orgnr.")
        parser.add_argument("--old", default="", help="The replaced D-number or FHN (system|value or 11 digits).")
        parser.add_argument("--new", default="", help="The fødselsnummer that replaces it (system|value or 11 digits).")
        parser.add_argument("--patient", default="", help="A FHIR Patient (JSON file) with link.type=replaces.")
        parser.add_argument("--instruction", default="", help="On whose instruction (person, letter, case number).")

    def handle(self, *args: Any, **options: Any) -> None:
        municipality = options["municipality"]
        pairs = self._pairs(options)
        if not pairs:
            for link in IdentityLink.objects.filter(municipality_orgnr=municipality):
                self.stdout.write(
                    f"{link.old_value} → {link.new_value} {link.recorded_at:%Y-%m-%d} ({link.instruction})"
                )
            return
        by = Actor(
            name=f"link_identity ({getpass.getuser()})",
            roles=frozenset({Role.SYSTEM_ADMIN}),
            client_id="manage.py link_identity",
        )
        for old, new in pairs:
            try:
                link = link_identity(
                    old=parse_identifier(old),
                    new=parse_identifier(new),
                    municipality=municipality,
                    instruction=options["instruction"],
                    by=by,
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            self.stdout.write(self.style.SUCCESS(f"Linked {link.old_value} to {link.new_value}."))

    def _pairs(self, options: dict[str, Any]) -> list[tuple[str, str]]:
        if options["patient"]:
            try:
                resource = json.loads(Path(options["patient"]).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read a FHIR Patient from {options['patient']}: {exc}") from exc
            return links_in_patient(resource)
        if bool(options["old"]) != bool(options["new"]):
            raise CommandError("Give both --old and --new.")
        return [(options["old"], options["new"])] if options["old"] else []
