from django.apps import AppConfig


class RiskgovConfig(AppConfig):
    name = "riskgov"
    verbose_name = "Risk governance"
    default_auto_field = "django.db.models.BigAutoField"
