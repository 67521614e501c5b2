import datetime as dt
import multiprocessing
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections
from django.utils import timezone
from tqdm import tqdm

from devdata import demo, generate
from devdata.guard import refuse_in_production


def _load(job: tuple[list[generate.GeneratedPatient], int, dt.date, int]) -> int:
    group, days, end, seed = job
    return generate.load_measurements(group, days=days, end=end, seed=seed, progress=lambda n: None)


class Command(BaseCommand):
    help = "Generate realistic synthetic DHO measurements (and access history) for benchmarks, with COPY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--years", type=float, default=1.0)
        parser.add_argument("--audit-records", type=int, default=0, help="Lookup records to add to the access log.")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--batch-patients", type=int, default=50)
        parser.add_argument("--workers", type=int, default=2, help="Processes generating and loading in parallel.")

    def handle(self, *args: Any, **options: Any) -> None:
        refuse_in_production("generate_data")
        if connection.vendor != "postgresql":
            raise CommandError("generate_data loads with PostgreSQL COPY: set DATABASE_URL to a PostgreSQL database.")
        orgs = demo.seed_organisations()
        demo.seed_agreements(orgs, today=timezone.localdate())
        days = round(options["years"] * 365)
        group = generate.patients(options["patients"], [demo.OSLO, demo.BAERUM], seed=options["seed"])
        per_day = sum(len(p.kinds) * p.per_day for p in group) * 0.93
        end = timezone.localdate() - dt.timedelta(days=1)
        size = options["batch_patients"]
        jobs = [(group[i : i + size], days, end, options["seed"] + i) for i in range(0, len(group), size)]
        connections.close_all()  # each worker process opens its own connection
        total = 0
        with (
            tqdm(
                total=int(per_day * days), desc="Measurements", unit="obs", unit_scale=True, file=self.stderr._out
            ) as bar,
            multiprocessing.get_context("fork").Pool(options["workers"], initializer=connections.close_all) as pool,
        ):
            for loaded in pool.imap_unordered(_load, jobs):
                total += loaded
                bar.update(loaded)
        if options["audit_records"]:
            with tqdm(
                total=options["audit_records"], desc="Audit records", unit="rec", unit_scale=True, file=self.stderr._out
            ) as bar:
                generate.load_audit_history(
                    options["audit_records"], group, days=days, seed=options["seed"], progress=bar.update
                )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {total} measurements for {len(group)} patients over {days} days"
                f" and {options['audit_records']} audit records."
            )
        )
