from django.db import migrations


def create_defaults(apps, schema_editor):
    apps.get_model("riskgov", "GovernanceSettings").objects.get_or_create(pk=1)
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_30s, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.get_or_create(
        name="Governance tick",
        defaults={
            "task": "riskgov.governance_tick",
            "interval": every_30s,
            "enabled": True,
            "description": "Persist proposal state transitions, queue succeeded proposals, "
            "execute those past their timelock, refresh impact previews.",
        },
    )


def remove_defaults(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name="Governance tick").delete()
    apps.get_model("riskgov", "GovernanceSettings").objects.filter(pk=1).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("riskgov", "0006_governance"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_defaults, remove_defaults)]
