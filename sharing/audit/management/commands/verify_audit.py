from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sharing.audit.anchors import check_anchors
from sharing.audit.verify import head_matches, verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain; exit non-zero at the first altered, removed, inserted or swapped record "
        "or forged purge checkpoint. With --anchors FILE, also check the log against every anchor audit_anchor "
        "wrote: a chain cut short, rewritten or forked since any anchor is reported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--anchors", type=Path, metavar="FILE", help="anchor lines written by audit_anchor")
        parser.add_argument(
            "--expect",
            metavar="ID:HASH",
            help="a head noted earlier: fail if that record is gone or changed (records cut off the end)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        problems = [] if report.ok else [report.describe()]
        if options["expect"]:
            record_id, _, record_hash = options["expect"].partition(":")
            if not record_id.isdigit() or not head_matches(int(record_id), record_hash):
                problems.append(f"Audit record {record_id} noted earlier is missing or changed.")
        anchors_checked = 0
        if options["anchors"]:
            try:
                lines = options["anchors"].read_text().splitlines()
            except OSError as exc:
                raise CommandError(f"Cannot read the anchors: {exc}") from exc
            anchors_checked, anchor_problems = check_anchors(lines)
            problems += anchor_problems
        if problems:
            raise CommandError("\n".join(problems))
        start = f"purge checkpoint {report.checkpoint_id}" if report.checkpoint_id else "genesis"
        against = f"; consistent with {anchors_checked} anchors" if options["anchors"] else ""
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {report.checked} records verified from {start}{against}.")
            + (f"\nHead: {report.head_id}:{report.head_hash}" if report.head_id else "")
        )
