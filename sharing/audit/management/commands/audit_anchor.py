import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sharing.audit.anchors import current_head


class Command(BaseCommand):
    help = (
        "Append the access log's current head (id, hash, time), authenticated with the chain key, as one line "
        "to --file or standard output (for a log shipper). Run it from a timer; keep the lines away from the "
        "database (docs/deploy.md). verify_audit --anchors FILE checks the log against every line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, help="append here (created if missing); default: standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        line = current_head().line()
        path: Path | None = options["file"]
        if path is None:
            self.stdout.write(line)
            return
        # Append-only: O_APPEND, never truncated; fsync so a crash right after does not lose the line.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
