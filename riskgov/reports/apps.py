from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "riskgov.reports"
    label = "reports"
    verbose_name = "Exposure reports"
    default_auto_field = "django.db.models.BigAutoField"
