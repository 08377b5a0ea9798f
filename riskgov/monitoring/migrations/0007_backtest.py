from django.db import migrations, models

SCHEDULE = "Coverage backtest (last 90 days)"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # after the daily coverage run (02:15 UTC), so yesterday's window is judged by the run current then
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=SCHEDULE,
        defaults={
            "task": "riskgov.coverage_backtest_daily",
            "crontab": daily,
            "enabled": True,
            "description": "Realised bad debt of each of the last 90 days against the coverage run current then.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SCHEDULE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0006_relayer_balance_rule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        migrations.CreateModel(
            name="CoverageBacktest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("requested_by", models.CharField(max_length=150)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("start", models.DateField()),
                ("end", models.DateField()),
                ("max_run_age_hours", models.PositiveIntegerField()),
                (
                    "quantile_levels",
                    models.JSONField(default=list, help_text="Quantile levels as fractions, e.g. [0.9, 0.95]."),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("error", models.TextField(blank=True, default="")),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("windows", models.JSONField(default=list)),
                ("skipped", models.JSONField(default=list)),
                ("levels", models.JSONField(default=list)),
            ],
            options={"ordering": ["-created_at", "-pk"]},
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
