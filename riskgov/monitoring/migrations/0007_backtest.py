from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0006_relayer_balance_rule")]
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
    ]
