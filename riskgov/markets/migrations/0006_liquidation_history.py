import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("markets", "0005_loss_waterfall")]
    operations = [
        migrations.CreateModel(
            name="Liquidation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "source",
                    models.CharField(choices=[("chain", "Chain event"), ("import", "Imported history")], max_length=8),
                ),
                ("external_id", models.CharField(max_length=128)),
                ("liquidated_at", models.DateTimeField()),
                (
                    "size",
                    models.DecimalField(
                        decimal_places=18, help_text="Signed base units at liquidation (>0 long).", max_digits=38
                    ),
                ),
                ("entry_price", models.DecimalField(blank=True, decimal_places=18, max_digits=38, null=True)),
                ("collateral", models.DecimalField(blank=True, decimal_places=18, max_digits=38, null=True)),
                (
                    "price",
                    models.DecimalField(
                        decimal_places=18, help_text="Execution (mark) price, quote per base unit.", max_digits=38
                    ),
                ),
                (
                    "notional",
                    models.DecimalField(decimal_places=18, help_text="|size| · price, quote units.", max_digits=38),
                ),
                (
                    "penalty",
                    models.DecimalField(
                        decimal_places=18,
                        help_text="Liquidation penalty paid into the fund, quote units.",
                        max_digits=38,
                    ),
                ),
                (
                    "bad_debt",
                    models.DecimalField(
                        decimal_places=18,
                        help_text="Shortfall the insurance fund absorbed, quote units.",
                        max_digits=38,
                    ),
                ),
                ("liquidator", models.CharField(blank=True, default="", max_length=42)),
                ("tx_hash", models.CharField(blank=True, default="", max_length=66)),
                ("log_index", models.PositiveIntegerField(blank=True, null=True)),
                ("block_number", models.BigIntegerField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "account",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="liquidations",
                        to="markets.account",
                    ),
                ),
                (
                    "market",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="liquidations", to="markets.market"
                    ),
                ),
                (
                    "position",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="liquidations",
                        to="markets.position",
                    ),
                ),
            ],
            options={
                "ordering": ["-liquidated_at", "-pk"],
                "indexes": [
                    models.Index(fields=["liquidated_at"], name="liquidation_time_idx"),
                    models.Index(fields=["market", "liquidated_at"], name="liquidation_market_time_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("source", "external_id"), name="liquidation_unique_source_id"),
                    models.CheckConstraint(condition=~models.Q(size=0), name="liquidation_size_nonzero"),
                    models.CheckConstraint(condition=models.Q(price__gt=0), name="liquidation_price_positive"),
                    models.CheckConstraint(
                        condition=models.Q(bad_debt__gte=0), name="liquidation_bad_debt_nonnegative"
                    ),
                    models.CheckConstraint(condition=models.Q(penalty__gte=0), name="liquidation_penalty_nonnegative"),
                ],
            },
        ),
    ]
