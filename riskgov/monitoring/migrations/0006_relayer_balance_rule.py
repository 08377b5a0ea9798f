from django.db import migrations, models

import riskgov.markets.models.accounts

KIND_CHOICES = [
    ("coverage_ratio_below", "Coverage ratio below"),
    ("exhaustion_above", "P(fund exhausted) above"),
    ("near_liq_notional_above", "Notional within 5 % of liquidation above"),
    ("oi_share_of_cap_above", "Open interest share of cap above"),
    ("volatility_jump", "Volatility jump (24 h vs 30 d) above"),
    ("oracle_stale_or_deviating", "Oracle feed stale or deviating"),
    ("indexer_lag_above", "Indexer lag above (seconds)"),
    ("snapshot_failing", "Exposure snapshot failing or older than (minutes)"),
    ("automatic_parameter_change", "Margin policy changed parameters (within hours)"),
    ("relayer_balance_below", "Vote relayer balance below (ETH)"),
]


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0005_recommendation_coverage_preview")]
    operations = [
        migrations.AddField(
            model_name="alertrule",
            name="address",
            field=models.CharField(
                blank=True,
                help_text="Relayer balance rules: the account to watch; empty: the vote relayer (CHAIN_RELAYER_KEY).",
                max_length=42,
                validators=[riskgov.markets.models.accounts.validate_address],
            ),
        ),
        migrations.AlterField(
            model_name="alertrule", name="kind", field=models.CharField(choices=KIND_CHOICES, max_length=32)
        ),
    ]
