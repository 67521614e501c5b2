from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from portal.login.devsetup import write_clients_file


class Command(BaseCommand):
    help = "Create development keys and devidp's client registrations (local HelseID stand-in)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--portal-url", action="append", default=[], help="Base URL the portal runs at.")

    def handle(self, *args: Any, **options: Any) -> None:
        urls = options["portal_url"] or ["http://127.0.0.1:8000"]
        path = write_clients_file(
            path=Path(settings.VAR_DIR) / "devidp" / "clients.json",
            keys_dir=Path(settings.OIDC_RP_PRIVATE_KEY_FILE).parent,
            portal_urls=urls,
        )
        self.stdout.write(f"devidp clients written to {path}")
