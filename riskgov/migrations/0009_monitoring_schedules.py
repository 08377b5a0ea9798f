from django.db import migrations

SCHEDULES = (
    # name, task, every, period, description
    (
        "Margin recommendations",
        "riskgov.recommend_margins",
        1,
        "hours",
        "Compute each market's margin parameters from its policy; apply inside the steward bounds.",
    ),
    (
        "Alert evaluation",
        "riskgov.evaluate_alerts",
        1,
        "minutes",
        "Evaluate alert rules, open and resolve alerts, deliver notifications.",
    ),
)


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period, description in SCHEDULES:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True, "description": description}
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("riskgov", "0008_dynamic_margin_monitoring"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
