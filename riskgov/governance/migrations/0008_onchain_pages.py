from django.db import migrations

SCHEDULE_NAME = "Relay collected ballots to the Governor"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_30s, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "task": "riskgov.governance_relay_ballots",
            "interval": every_30s,
            "enabled": True,
            "description": "On-chain governance mode: send the signed ballots collected off-chain to the Governor "
            "(castVoteBySig in batches) and store each one's outcome. Does nothing off-chain.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0007_onchain"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
