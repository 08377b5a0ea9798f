from decimal import Decimal

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("markets", "0006_liquidation_history")]

    operations = [
        migrations.CreateModel(
            name="RiskBudget",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "enabled",
                    models.BooleanField(default=True, help_text="Off: changes of this market need no attestation."),
                ),
                (
                    "max_exhaustion_increase",
                    models.DecimalField(
                        decimal_places=8,
                        help_text="ε: the largest allowed increase of P(fund exhausted), a fraction (0.005 = 0.5 points).",
                        max_digits=12,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0")),
                            django.core.validators.MaxValueValidator(Decimal("1")),
                        ],
                    ),
                ),
                (
                    "max_es99_increase",
                    models.DecimalField(
                        decimal_places=18,
                        help_text="x: the largest allowed increase of ES99 of bad debt over the horizon, quote units.",
                        max_digits=38,
                        validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                    ),
                ),
                (
                    "confidence",
                    models.DecimalField(
                        decimal_places=8,
                        default=Decimal("0.95"),
                        help_text="Level of the two-sided interval whose upper bound must stay inside the budget.",
                        max_digits=12,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.5")),
                            django.core.validators.MaxValueValidator(Decimal("0.9999")),
                        ],
                    ),
                ),
                (
                    "paths",
                    models.PositiveIntegerField(
                        default=2000,
                        help_text="Paths per run.",
                        validators=[
                            django.core.validators.MinValueValidator(50),
                            django.core.validators.MaxValueValidator(200000),
                        ],
                    ),
                ),
                (
                    "steps",
                    models.PositiveIntegerField(
                        default=48,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(1000),
                        ],
                    ),
                ),
                (
                    "horizon_days",
                    models.DecimalField(
                        decimal_places=3,
                        default=Decimal("2"),
                        max_digits=8,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.01")),
                            django.core.validators.MaxValueValidator(Decimal("30")),
                        ],
                    ),
                ),
                (
                    "max_age_minutes",
                    models.PositiveIntegerField(
                        default=60,
                        help_text="An attestation older than this when the change would apply has expired; the change is refused.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("updated_by", models.CharField(blank=True, default="", max_length=150)),
                (
                    "market",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="risk_budget", to="markets.market"
                    ),
                ),
            ],
            options={
                "db_table": "riskgov_riskbudget",
                "ordering": ["market"],
            },
        ),
        migrations.CreateModel(
            name="ParameterChangeRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("genesis", "Genesis"),
                            ("admin", "Admin (steward)"),
                            ("proposal", "Governance proposal"),
                            ("policy", "Margin policy"),
                        ],
                        max_length=16,
                    ),
                ),
                ("changes", models.JSONField(help_text="{field: decimal string or null}, rates as fractions.")),
                ("reason", models.TextField()),
                ("actor", models.CharField(max_length=150)),
                ("proposal_ref", models.CharField(blank=True, default="", max_length=64)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("awaiting_attestation", "Awaiting attestation"),
                            ("attested", "Attested (waiting for its proposal's execution)"),
                            ("applied", "Applied"),
                            ("refused", "Refused"),
                        ],
                        default="awaiting_attestation",
                        max_length=24,
                    ),
                ),
                ("progress", models.FloatField(default=0.0, help_text="Share of the paired runs' chunks done (0…1).")),
                ("attestation", models.JSONField(blank=True, default=dict)),
                ("attested_at", models.DateTimeField(blank=True, null=True)),
                ("refusal", models.TextField(blank=True, default="")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("polled_at", models.DateTimeField(blank=True, null=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "base_version",
                    models.ForeignKey(
                        help_text="The version in force when the change was requested: the paired run's reference side.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="markets.marginparameters",
                    ),
                ),
                (
                    "market",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="change_requests", to="markets.market"
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="change_requests",
                        to="markets.marginparameters",
                    ),
                ),
            ],
            options={
                "db_table": "riskgov_parameterchangerequest",
                "ordering": ["-created_at", "-pk"],
                "indexes": [models.Index(fields=["status", "created_at"], name="change_request_status_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "applied"), _negated=True), ("version__isnull", False), _connector="OR"
                        ),
                        name="change_request_applied_version",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "refused"), _negated=True),
                            models.Q(("refusal", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="change_request_refused_reason",
                    ),
                ],
            },
        ),
    ]
