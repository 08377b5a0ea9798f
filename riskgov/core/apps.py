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
        # the admin has registered every app's models by now (django.contrib.admin comes first in INSTALLED_APPS)
        from riskgov.core.admin_display import admin_look_install  # noqa: PLC0415 - needs the admin registry

        admin_look_install()
