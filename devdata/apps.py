from django.apps import AppConfig


class DevdataConfig(AppConfig):
    """Demo people and data, and the data generator: installed only outside production."""

    name = "devdata"
    label = "devdata"
