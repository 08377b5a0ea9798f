import django.utils.timezone
from django.db import migrations, models

import riskgov.markets.models.accounts


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0002_voter_nonces_and_signed_reasons"),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="DelegateStatement",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("chain_id", models.PositiveBigIntegerField()),
                (
                    "delegate",
                    models.CharField(max_length=42, validators=[riskgov.markets.models.accounts.validate_address]),
                ),
                ("version", models.PositiveIntegerField()),
                ("statement", models.TextField(help_text="Markdown source, as signed.")),
                ("statement_html", models.TextField(help_text="Sanitised HTML rendered from the statement.")),
                ("issued_at", models.PositiveBigIntegerField(help_text="Signed unix time (seconds).")),
                ("signature", models.CharField(max_length=1024)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["delegate", "-version"],
                "indexes": [models.Index(fields=["delegate", "-version"], name="statement_latest_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("chain_id", "delegate", "version"), name="statement_version_unique")
                ],
            },
        ),
        migrations.CreateModel(
            name="DelegationRelay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("chain_id", models.PositiveBigIntegerField()),
                (
                    "token",
                    models.CharField(
                        help_text="The governance token.",
                        max_length=42,
                        validators=[riskgov.markets.models.accounts.validate_address],
                    ),
                ),
                (
                    "delegator",
                    models.CharField(
                        db_index=True, max_length=42, validators=[riskgov.markets.models.accounts.validate_address]
                    ),
                ),
                (
                    "delegatee",
                    models.CharField(max_length=42, validators=[riskgov.markets.models.accounts.validate_address]),
                ),
                ("nonce", models.DecimalField(decimal_places=0, max_digits=78)),
                (
                    "expiry",
                    models.PositiveBigIntegerField(help_text="Unix time (seconds) after which the signature is void."),
                ),
                (
                    "signature",
                    models.CharField(help_text="0x-hex r ‖ s ‖ v of the Delegation typed data.", max_length=132),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("sending", "Sending"),
                            ("succeeded", "Succeeded"),
                            ("reverted", "Reverted"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                (
                    "relayer",
                    models.CharField(blank=True, help_text="The account that sent the transaction.", max_length=42),
                ),
                ("tx_hash", models.CharField(blank=True, max_length=66)),
                (
                    "error",
                    models.TextField(blank=True, help_text="Revert reason or failure, when it did not succeed."),
                ),
                (
                    "submitted_by",
                    models.CharField(blank=True, help_text="Signed-in address that submitted it.", max_length=42),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("chain_id", "token", "delegator", "nonce"), name="relay_once_per_nonce"
                    )
                ],
            },
        ),
    ]
