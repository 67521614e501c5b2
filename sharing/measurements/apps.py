from django.apps import AppConfig


class MeasurementsConfig(AppConfig):
    name = "sharing.measurements"
    label = "measurements"
