import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("insurance", "0007_scenarios"), ("markets", "0007_risk_budget")]

    operations = [
        migrations.CreateModel(
            name="RiskAttestation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("running", "Running"),
                            ("within_budget", "Within budget"),
                            ("over_budget", "Over budget"),
                            ("failed", "Failed"),
                        ],
                        default="running",
                        max_length=16,
                    ),
                ),
                ("max_exhaustion_increase", models.DecimalField(decimal_places=8, max_digits=12)),
                ("max_es99_increase", models.DecimalField(decimal_places=18, max_digits=38)),
                ("confidence", models.DecimalField(decimal_places=8, max_digits=12)),
                ("paths", models.PositiveIntegerField()),
                ("seed", models.PositiveBigIntegerField()),
                ("inputs_sha256", models.CharField(blank=True, default="", max_length=64)),
                ("exhaustion_delta", models.DecimalField(blank=True, decimal_places=8, max_digits=12, null=True)),
                ("exhaustion_upper", models.DecimalField(blank=True, decimal_places=8, max_digits=12, null=True)),
                ("es99_delta", models.DecimalField(blank=True, decimal_places=18, max_digits=38, null=True)),
                ("es99_upper", models.DecimalField(blank=True, decimal_places=18, max_digits=38, null=True)),
                ("reason", models.TextField(blank=True, default="")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("completed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "change_request",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="risk_attestation",
                        to="markets.parameterchangerequest",
                    ),
                ),
                (
                    "coverage_current",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="insurance.coveragerun",
                    ),
                ),
                (
                    "coverage_proposed",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="insurance.coveragerun",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
            },
        ),
    ]
