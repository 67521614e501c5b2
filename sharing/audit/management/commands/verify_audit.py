from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sharing.audit.verify import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit non-zero at the first altered, removed or inserted record."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit record {report.first_bad_id}: {report.problem} ({report.checked} verified before it)."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} records verified."))
