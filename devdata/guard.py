"""Development data never touches a production database.

The `devdata` app is installed only outside production (portal/settings.py), so its commands
do not exist there; should it be installed anyway, every command and bulk loader refuses.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError


def refuse_in_production(command: str) -> None:
    if settings.PRODUCTION:
        raise CommandError(
            f"{command} writes demo or generated data and never runs in production (ENVIRONMENT=production). "
            "Nothing was written."
        )
