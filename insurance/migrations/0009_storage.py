from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("insurance", "0008_risk_budget")]
    operations = [
        migrations.AddField(
            model_name="coveragerun",
            name="storage",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The run storage that holds the run's files, as it was when the run was created; a worker "
                "configured with another one leaves the run alone (empty: runs from before it was recorded).",
                max_length=255,
            ),
        ),
    ]
