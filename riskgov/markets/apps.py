from django.apps import AppConfig


class MarketsConfig(AppConfig):
    name = "riskgov.markets"
    label = "markets"
    verbose_name = "Markets and exposure"
    default_auto_field = "django.db.models.BigAutoField"
