from django.apps import AppConfig


class AgreementsConfig(AppConfig):
    name = "sharing.agreements"
    label = "agreements"
