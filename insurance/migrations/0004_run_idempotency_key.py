from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("insurance", "0003_run_purpose"),
    ]

    operations = [
        migrations.AddField(
            model_name="coveragerun",
            name="idempotency_key",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
        migrations.AddField(
            model_name="coveragerun",
            name="request_sha256",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddConstraint(
            model_name="coveragerun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("idempotency_key", ""), _negated=True),
                fields=("requested_by", "idempotency_key"),
                name="coverage_run_idempotency_key_unique",
            ),
        ),
    ]
