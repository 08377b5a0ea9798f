from django.apps import AppConfig


class ChainConfig(AppConfig):
    name = "chain"
    verbose_name = "Chain"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chain import checks  # noqa: F401  (registers the settings checks)
