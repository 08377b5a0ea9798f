from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("markets", "0003_snapshot_health"),
    ]

    operations = [
        migrations.CreateModel(
            name="ImportJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=16)),
                ("format", models.CharField(max_length=8)),
                ("filename", models.CharField(max_length=255)),
                ("file", models.FileField(blank=True, max_length=255, upload_to="imports/")),
                ("size_bytes", models.PositiveBigIntegerField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Imported"),
                            ("rejected", "Rejected"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("rows_total", models.PositiveBigIntegerField(default=0)),
                ("rows_done", models.PositiveBigIntegerField(default=0)),
                ("created", models.PositiveBigIntegerField(default=0)),
                ("updated", models.PositiveBigIntegerField(default=0)),
                ("unchanged", models.PositiveBigIntegerField(default=0)),
                ("errors", models.JSONField(blank=True, default=list)),
                ("error_total", models.PositiveIntegerField(default=0)),
                ("requested_by", models.CharField(max_length=150)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
            },
        ),
    ]
