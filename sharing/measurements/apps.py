from django.apps import AppConfig
from django.db.backends.signals import connection_created


class MeasurementsConfig(AppConfig):
    name = "sharing.measurements"
    label = "measurements"

    def ready(self) -> None:
        from sharing.core.pgtypes import register_fast_timestamptz

        # Every connection reads timestamps with psycopg's C loader (sharing/core/pgtypes.py).
        connection_created.connect(register_fast_timestamptz, dispatch_uid="fast-timestamptz")
