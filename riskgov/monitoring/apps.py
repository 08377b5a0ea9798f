from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "riskgov.monitoring"
    label = "monitoring"
    verbose_name = "Dynamic margin and monitoring"
    default_auto_field = "django.db.models.BigAutoField"
