from django.apps import AppConfig
from django.core import checks

from chain.checks import chain_settings_check


class ChainConfig(AppConfig):
    name = "chain"
    verbose_name = "Chain"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        checks.register(chain_settings_check, checks.Tags.compatibility)
