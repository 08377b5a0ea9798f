from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import F


def confirm_existing(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Subscriptions made before the double opt-in keep receiving reports: they count as confirmed."""
    subscription = apps.get_model("reports", "ReportSubscription")
    subscription.objects.filter(confirmed_at__isnull=True).update(confirmed_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_report_delivery_outbox"),
    ]

    operations = [
        migrations.AddField(
            model_name="reportsubscription",
            name="confirmed_at",
            field=models.DateTimeField(
                blank=True, help_text="When the address confirmed from its mail; empty while pending.", null=True
            ),
        ),
        migrations.RunPython(confirm_existing, migrations.RunPython.noop),
    ]
