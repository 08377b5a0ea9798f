from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "riskgov.core"
    label = "core"
    verbose_name = "Core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from riskgov.core.roles import roles_sync_after_migrate  # noqa: PLC0415 - it imports models: after loading

        post_migrate.connect(roles_sync_after_migrate, sender=self, dispatch_uid="riskgov.core.roles_sync")
