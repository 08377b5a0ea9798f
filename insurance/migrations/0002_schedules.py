from django.db import migrations

DAILY_RUN = "Daily coverage run"
SWEEPER = "Coverage run sweeper"


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=DAILY_RUN,
        defaults={
            "task": "insurance.daily_coverage_run",
            "crontab": daily,
            "enabled": True,
            "description": "Coverage run under the current margin parameters with default settings.",
        },
    )
    every_two, _ = IntervalSchedule.objects.get_or_create(every=2, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=SWEEPER,
        defaults={
            "task": "insurance.sweep_stale_runs",
            "interval": every_two,
            "enabled": True,
            "description": "Re-enqueue lost chunks of coverage runs; fail runs whose chunks keep getting lost.",
        },
    )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[DAILY_RUN, SWEEPER]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("insurance", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
