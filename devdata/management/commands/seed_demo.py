from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from tqdm import tqdm

from devdata import demo
from devdata.demo import seed_demo_grants
from devdata.guard import refuse_in_production


class Command(BaseCommand):
    help = "Create demo organisations, agreements and synthetic patients with home measurements."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=365)

    def handle(self, *args: Any, **options: Any) -> None:
        refuse_in_production("seed_demo")
        orgs = demo.seed_organisations()
        demo.seed_agreements(orgs, today=timezone.localdate())
        seed_demo_grants(by=demo.SEEDER)
        total = demo.expected_count(options["days"])
        with tqdm(total=total, desc="Demo measurements", unit="obs", file=self.stderr._out) as bar:
            created = demo.seed_measurements(days=options["days"], progress=bar.update)
            bar.total = bar.n  # days skipped and readings still to come today: the estimate was high
            bar.refresh()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready: {created} new measurements for {len(demo.PATIENTS)} patients.")
        )
