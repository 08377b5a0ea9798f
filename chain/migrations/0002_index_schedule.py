import json

from django.db import migrations

ROLES = ("gov_token", "registry", "perp_market", "price_feed")


def task_name(role):
    return f"Index chain: {role}"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15s, _ = IntervalSchedule.objects.get_or_create(every=15, period="seconds")
    for role in ROLES:
        PeriodicTask.objects.get_or_create(
            name=task_name(role),
            defaults={
                "task": "chain.index_contract",
                "kwargs": json.dumps({"role": role}),
                "interval": every_15s,
                "enabled": True,
                # A tick that waited longer than the interval is superseded by the next one.
                "expire_seconds": 30,
                "description": f"Read new {role} logs from the chain into the database (safe to overlap).",
            },
        )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[task_name(role) for role in ROLES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chain", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
