from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("insurance", "0004_run_idempotency_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="coveragechunk",
            name="heartbeat_at",
            field=models.DateTimeField(
                blank=True, help_text="Last time a live worker reported holding this chunk's task.", null=True
            ),
        ),
        migrations.AddField(
            model_name="coveragerun",
            name="merge_claim",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The merge holding the run (its task id); empty when none.",
                max_length=255,
            ),
        ),
        migrations.AddField(
            model_name="coveragerun",
            name="merge_heartbeat_at",
            field=models.DateTimeField(
                blank=True, help_text="Last sign of life of the worker merging the run.", null=True
            ),
        ),
    ]
