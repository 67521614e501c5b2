from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sharing.audit.verify import head_matches, verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain; exit non-zero at the first altered, removed or inserted record. "
        "Prints the head (last record) so it can be noted elsewhere and checked later with --expect."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--expect",
            metavar="ID:HASH",
            help="a head noted earlier: fail if that record is gone or changed (records cut off the end)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit record {report.first_bad_id}: {report.problem} ({report.checked} verified before it)."
            )
        if options["expect"]:
            record_id, _, record_hash = options["expect"].partition(":")
            if not record_id.isdigit() or not head_matches(int(record_id), record_hash):
                raise CommandError(f"Audit record {record_id} noted earlier is missing or changed.")
        start = f"purge checkpoint {report.checkpoint_id}" if report.checkpoint_id else "genesis"
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {report.checked} records verified from {start}.")
            + (f"\nHead: {report.head_id}:{report.head_hash}" if report.head_id else "")
        )
