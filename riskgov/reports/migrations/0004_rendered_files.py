import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_subscription_confirmation"),
    ]

    operations = [
        migrations.CreateModel(
            name="RenderedReportFile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("format", models.CharField(choices=[("pdf", "PDF"), ("csv", "CSV")], max_length=8)),
                ("content_sha256", models.CharField(max_length=64)),
                ("file", models.FileField(max_length=255, upload_to="reports/rendered/")),
                ("size_bytes", models.PositiveBigIntegerField()),
                ("rendered_at", models.DateTimeField(auto_now_add=True)),
                (
                    "report",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rendered_files",
                        to="reports.exposurereport",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("report", "format", "content_sha256"), name="rendered_report_file_unique_version"
                    )
                ],
            },
        ),
    ]
