from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "riskgov.demo"
    label = "demo"
    verbose_name = "Demo protocol"
    default_auto_field = "django.db.models.BigAutoField"
