import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0004_notifications"),
    ]

    operations = [
        migrations.AddField(
            model_name="proposal",
            name="discussion_url",
            field=models.URLField(
                blank=True, help_text="Where the proposal is discussed (forum thread), http or https.", max_length=500
            ),
        ),
        migrations.AddField(
            model_name="proposal",
            name="quorum_reached_at",
            field=models.DateTimeField(
                blank=True, help_text="Time of the vote that first reached quorum (set once).", null=True
            ),
        ),
        migrations.AddField(
            model_name="proposal",
            name="vote_extension_seconds",
            field=models.PositiveIntegerField(
                default=0, help_text="Voting stays open at least this long after the vote that first reaches quorum."
            ),
        ),
        migrations.AddField(
            model_name="proposal",
            name="voting_extended_from",
            field=models.DateTimeField(
                blank=True,
                help_text="The end scheduled at creation, when a late quorum extended voting past it.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="proposal",
            name="voting_ends_at",
            field=models.DateTimeField(help_text="End of voting; a late quorum moves it (see voting_extended_from)."),
        ),
        migrations.CreateModel(
            name="ImpactPreview",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("requested_by", models.CharField(help_text="Signed-in address that asked for it.", max_length=42)),
                (
                    "changes",
                    models.JSONField(help_text="{market symbol: {field: new value as a decimal string or null}}."),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("impact", models.JSONField(blank=True, default=dict)),
                ("impact_computed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "coverage_error",
                    models.TextField(blank=True, help_text="Why the coverage runs could not be started."),
                ),
                (
                    "coverage_current",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="insurance.coveragerun",
                    ),
                ),
                (
                    "coverage_proposed",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="insurance.coveragerun",
                    ),
                ),
            ],
            options={
                "db_table": "riskgov_impactpreview",
                "ordering": ["-pk"],
                "indexes": [models.Index(fields=["requested_by", "created_at"], name="impact_preview_requester_idx")],
            },
        ),
    ]
