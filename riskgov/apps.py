from django.apps import AppConfig


class RiskgovConfig(AppConfig):
    """The schema history from before the split into one app per job (migrations 0001–0009).

    It owns no models: its last migration hands every table over to `riskgov.core`, `riskgov.markets`,
    `riskgov.governance`, `riskgov.monitoring` and `riskgov.reports`, so databases created before the split
    upgrade in place and new ones are built through the same history.
    """

    name = "riskgov"
    verbose_name = "Risk governance (schema history)"
    default_auto_field = "django.db.models.BigAutoField"
