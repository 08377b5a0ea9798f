import json

from django.db import migrations

REPORT_TASK = "riskgov.generate_exposure_report"
# name: (kind, cadence, crontab minute, hour, day_of_week, description)
DEFAULT_SCHEDULES = {
    "Daily protocol report": (
        "protocol",
        "daily",
        "0",
        "6",
        "*",
        "Protocol-wide exposure, coverage, parameter changes and alerts for the previous UTC day.",
    ),
    "Weekly market detail": (
        "market_detail",
        "weekly",
        "0",
        "7",
        "1",
        "Per-market exposure detail for the previous ISO week.",
    ),
}


def periodic_task_name(schedule_name):
    return f"Exposure report: {schedule_name}"


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    ReportSchedule = apps.get_model("riskgov", "ReportSchedule")
    for name, (kind, cadence, minute, hour, day_of_week, description) in DEFAULT_SCHEDULES.items():
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week=day_of_week, day_of_month="*", month_of_year="*", timezone="UTC"
        )
        schedule, created = ReportSchedule.objects.get_or_create(
            name=name, defaults={"kind": kind, "cadence": cadence, "crontab": crontab, "enabled": True}
        )
        if not created:
            continue
        task, _ = PeriodicTask.objects.update_or_create(
            name=periodic_task_name(name),
            defaults={
                "task": REPORT_TASK,
                "crontab": crontab,
                "kwargs": json.dumps({"schedule_id": schedule.pk}),
                "enabled": True,
                "description": description,
            },
        )
        schedule.periodic_task = task
        schedule.save(update_fields=["periodic_task"])


def remove_schedules(apps, schema_editor):
    names = list(DEFAULT_SCHEDULES)
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[periodic_task_name(n) for n in names]
    ).delete()
    ReportSchedule = apps.get_model("riskgov", "ReportSchedule")
    ReportSchedule.objects.filter(name__in=names, reports__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("riskgov", "0004_exposure_reports"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
