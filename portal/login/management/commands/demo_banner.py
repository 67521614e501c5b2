import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Print where the demo portal runs and who can log in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        persons = json.loads((Path(settings.BASE_DIR) / "devidp" / "persons.json").read_text())
        if isinstance(persons, dict):
            persons = persons.get("persons", [])
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Måledata portal: {options['url']}/"))
        self.stdout.write("Log in with HelseID (devidp) as one of these test persons:")
        for person in persons:
            self.stdout.write(f"  - {person.get('name')}: {person.get('description', '')}")
        self.stdout.write("Demo patients (Tenor synthetic): 30875928763, 14904839826, 02923712995")
        self.stdout.write("")
