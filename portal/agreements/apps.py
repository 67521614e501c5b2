from django.apps import AppConfig


class AgreementsAdminConfig(AppConfig):
    name = "portal.agreements"
    label = "agreements_admin"
