from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from sharing.fhir import backfill
from sharing.fhir.ingest import SenderNotAllowed
from sharing.identifiers import InvalidIdentifier, parse_orgnr


class Command(BaseCommand):
    help = (
        "Backfill VkpObservations from files (Bundles, single Observations, or NDJSON with one resource per "
        "line) for one municipality, through the same checks as the FHIR API."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
        parser.add_argument(
            "--municipality", required=True, help="Organisation number of the municipality the data belongs to."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        paths: list[Path] = options["files"]
        if missing := [str(p) for p in paths if not p.is_file()]:
            raise CommandError(f"No such file: {', '.join(missing)}")
        try:
            municipality = parse_orgnr(options["municipality"])
        except InvalidIdentifier as exc:
            raise CommandError(f"--municipality: {exc}") from exc
        total = sum(backfill.count_resources(p) for p in paths)
        with tqdm(total=total, desc="Observations", unit="obs", file=self.stderr._out) as bar:
            try:
                summary = backfill.import_files(paths, municipality=municipality, progress=bar.update)
            except SenderNotAllowed as exc:
                raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{summary.total} resources: {summary.accepted} accepted, {summary.updated} updated, "
            f"{summary.duplicate} duplicate, {summary.rejected} rejected."
        )
        for reason, count in summary.reasons.most_common(10):
            self.stdout.write(f"  rejected {count}: {reason}")
