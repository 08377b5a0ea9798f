import django.utils.timezone
from django.db import migrations, models
from django.db.models import Max

import riskgov.markets.models.accounts


def nonces_from_votes(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Each voter's next nonce is one past the highest nonce of their accepted votes."""
    Vote = apps.get_model("governance", "Vote")
    VoterNonce = apps.get_model("governance", "VoterNonce")
    rows = Vote.objects.values("voter").annotate(highest=Max("nonce")).order_by("voter")
    VoterNonce.objects.bulk_create(
        [VoterNonce(voter=row["voter"], next_nonce=row["highest"] + 1) for row in rows], batch_size=5000
    )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="VoterNonce",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "voter",
                    models.CharField(
                        max_length=42, unique=True, validators=[riskgov.markets.models.accounts.validate_address]
                    ),
                ),
                ("next_nonce", models.PositiveBigIntegerField(default=0)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "db_table": "riskgov_voternonce",
            },
        ),
        migrations.AddField(
            model_name="vote",
            name="reason_signed",
            field=models.BooleanField(
                default=False, help_text="The reason is part of the signed ExtendedBallot (older rows: not signed)."
            ),
        ),
        migrations.AlterField(
            model_name="vote",
            name="nonce",
            field=models.PositiveBigIntegerField(help_text="The voter's nonce consumed by this ballot (VoterNonce)."),
        ),
        migrations.AlterField(
            model_name="vote",
            name="reason",
            field=models.TextField(blank=True, help_text="Free text from the voter; signed when reason_signed."),
        ),
        migrations.RunPython(nonces_from_votes, migrations.RunPython.noop),
    ]
