"""The markets tables, taken over from the `riskgov` schema history (migrations 0001–0009) as they are.

The tables already exist and keep their `riskgov_*` names: this only records them in the migration state
under their new app."""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
import django.db.models.expressions
import django.utils.timezone
from django.db import migrations, models

import riskgov.markets.models.accounts

STATE_OPERATIONS = [
    migrations.CreateModel(
        name="Account",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            (
                "address",
                models.CharField(
                    max_length=42, unique=True, validators=[riskgov.markets.models.accounts.validate_address]
                ),
            ),
            ("label", models.CharField(blank=True, max_length=100)),
            ("created_at", models.DateTimeField(auto_now_add=True)),
        ],
        options={
            "db_table": "riskgov_account",
            "ordering": ["address"],
        },
    ),
    migrations.CreateModel(
        name="Market",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("symbol", models.CharField(help_text="Base asset ticker, e.g. ETH.", max_length=32, unique=True)),
            ("name", models.CharField(max_length=100)),
            ("quote_asset", models.CharField(default="USD", max_length=16)),
            ("chain_market_id", models.PositiveIntegerField(blank=True, null=True, unique=True)),
            (
                "depth",
                models.DecimalField(
                    decimal_places=18,
                    default=Decimal("10000000"),
                    help_text="Quote notional that moves the price by about 1 % (for liquidation impact).",
                    max_digits=38,
                    validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                ),
            ),
            (
                "reference_volatility",
                models.DecimalField(
                    decimal_places=8,
                    default=Decimal("0.8"),
                    help_text="Annualised volatility used when price history is too short to estimate it.",
                    max_digits=12,
                    validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                ),
            ),
            (
                "steward_min_delay_hours",
                models.PositiveIntegerField(
                    default=72, help_text="Minimum hours between two admin (steward) parameter updates."
                ),
            ),
            ("is_active", models.BooleanField(default=True)),
            ("created_at", models.DateTimeField(auto_now_add=True)),
        ],
        options={
            "db_table": "riskgov_market",
            "ordering": ["symbol"],
        },
    ),
    migrations.CreateModel(
        name="MarginParameters",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("version", models.PositiveIntegerField()),
            ("effective_at", models.DateTimeField(default=django.utils.timezone.now)),
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
            ("reason", models.TextField()),
            ("actor", models.CharField(max_length=150)),
            ("proposal_ref", models.CharField(blank=True, default="", max_length=64)),
            ("created_at", models.DateTimeField(auto_now_add=True)),
            (
                "imr",
                models.DecimalField(
                    decimal_places=8, help_text="Initial margin rate, fraction of notional.", max_digits=12
                ),
            ),
            (
                "mmr",
                models.DecimalField(
                    decimal_places=8, help_text="Maintenance margin rate, fraction of notional.", max_digits=12
                ),
            ),
            ("max_leverage", models.DecimalField(decimal_places=4, max_digits=10)),
            (
                "liquidation_penalty",
                models.DecimalField(
                    decimal_places=8, help_text="Fraction of liquidated notional paid to the fund.", max_digits=12
                ),
            ),
            (
                "insurance_fee_share",
                models.DecimalField(
                    decimal_places=8, help_text="Share of trading fees paid to the insurance fund.", max_digits=12
                ),
            ),
            (
                "oi_cap",
                models.DecimalField(
                    blank=True,
                    decimal_places=18,
                    help_text="Open-interest cap per side, quote notional.",
                    max_digits=38,
                    null=True,
                ),
            ),
            (
                "size_margin_base",
                models.DecimalField(
                    blank=True,
                    decimal_places=18,
                    help_text="Notional above which the initial margin grows (quote units).",
                    max_digits=38,
                    null=True,
                ),
            ),
            (
                "size_margin_slope",
                models.DecimalField(
                    blank=True,
                    decimal_places=8,
                    help_text="Extra IMR per 1,000,000 quote notional above the base.",
                    max_digits=12,
                    null=True,
                ),
            ),
            (
                "market",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, related_name="parameter_versions", to="markets.market"
                ),
            ),
        ],
        options={
            "verbose_name": "margin parameters",
            "verbose_name_plural": "margin parameters",
            "db_table": "riskgov_marginparameters",
            "ordering": ["market", "-version"],
            "indexes": [models.Index(fields=["market", "effective_at"], name="parameters_market_time_idx")],
            "constraints": [
                models.UniqueConstraint(fields=("market", "version"), name="parameters_unique_version"),
                models.CheckConstraint(
                    condition=models.Q(
                        ("liquidation_penalty__gt", 0),
                        ("mmr__gt", models.F("liquidation_penalty")),
                        ("imr__gt", models.F("mmr")),
                        ("imr__lte", 1),
                    ),
                    name="parameters_rate_order",
                ),
                models.CheckConstraint(
                    condition=models.Q(("max_leverage__gt", 0)), name="parameters_leverage_positive"
                ),
                models.CheckConstraint(
                    condition=models.Q(("insurance_fee_share__gte", 0), ("insurance_fee_share__lte", 1)),
                    name="parameters_fee_share_fraction",
                ),
            ],
        },
    ),
    migrations.CreateModel(
        name="ExposureSnapshot",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("taken_at", models.DateTimeField()),
            ("scope", models.CharField(help_text='Market symbol, or "ALL" for protocol-wide.', max_length=32)),
            ("mark_price", models.DecimalField(blank=True, decimal_places=18, max_digits=38, null=True)),
            ("position_count", models.PositiveIntegerField()),
            ("account_count", models.PositiveIntegerField()),
            (
                "oi_long",
                models.DecimalField(decimal_places=18, help_text="Long open interest, quote notional.", max_digits=38),
            ),
            (
                "oi_short",
                models.DecimalField(decimal_places=18, help_text="Short open interest, quote notional.", max_digits=38),
            ),
            (
                "oi_long_size",
                models.DecimalField(
                    blank=True, decimal_places=18, help_text="Long open interest, base units.", max_digits=38, null=True
                ),
            ),
            (
                "oi_short_size",
                models.DecimalField(
                    blank=True,
                    decimal_places=18,
                    help_text="Short open interest, base units.",
                    max_digits=38,
                    null=True,
                ),
            ),
            ("collateral", models.DecimalField(decimal_places=18, max_digits=38)),
            ("leverage_p50", models.FloatField(null=True)),
            ("leverage_p90", models.FloatField(null=True)),
            ("leverage_p99", models.FloatField(null=True)),
            ("leverage_histogram", models.JSONField(default=dict)),
            (
                "top10_share",
                models.FloatField(help_text="Share of notional held by the 10 largest accounts.", null=True),
            ),
            ("hhi", models.FloatField(help_text="Herfindahl index of account notional shares, 0..1.", null=True)),
            ("top_accounts", models.JSONField(default=list)),
            ("liquidatable_count", models.PositiveIntegerField(default=0)),
            ("liquidatable_notional", models.DecimalField(decimal_places=18, default=0, max_digits=38)),
            (
                "near_liquidation",
                models.JSONField(default=dict, help_text="{'5': {'count', 'notional'}, '10': …, '20': …}"),
            ),
            ("shock_bad_debt", models.JSONField(default=dict, help_text="{'-50': bad debt, …, '50': …}, quote units.")),
            (
                "liquidation_map",
                models.JSONField(default=dict, help_text="Notional liquidated by price move, per grid."),
            ),
            (
                "market",
                models.ForeignKey(
                    blank=True,
                    null=True,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="snapshots",
                    to="markets.market",
                ),
            ),
        ],
        options={
            "db_table": "riskgov_exposuresnapshot",
            "ordering": ["-taken_at", "scope"],
            "indexes": [models.Index(fields=["scope", "-taken_at"], name="snapshot_scope_time_idx")],
            "constraints": [models.UniqueConstraint(fields=("scope", "taken_at"), name="snapshot_unique_scope_time")],
        },
    ),
    migrations.CreateModel(
        name="ParameterRule",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            (
                "field",
                models.CharField(
                    choices=[
                        ("imr", "imr"),
                        ("mmr", "mmr"),
                        ("max_leverage", "max_leverage"),
                        ("liquidation_penalty", "liquidation_penalty"),
                        ("insurance_fee_share", "insurance_fee_share"),
                        ("oi_cap", "oi_cap"),
                        ("size_margin_base", "size_margin_base"),
                        ("size_margin_slope", "size_margin_slope"),
                    ],
                    max_length=32,
                ),
            ),
            ("min_value", models.DecimalField(blank=True, decimal_places=18, max_digits=38, null=True)),
            ("max_value", models.DecimalField(blank=True, decimal_places=18, max_digits=38, null=True)),
            ("max_abs_change", models.DecimalField(blank=True, decimal_places=18, max_digits=38, null=True)),
            ("max_rel_change", models.DecimalField(blank=True, decimal_places=8, max_digits=12, null=True)),
            (
                "market",
                models.ForeignKey(
                    blank=True,
                    null=True,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="rules",
                    to="markets.market",
                ),
            ),
        ],
        options={
            "db_table": "riskgov_parameterrule",
            "ordering": ["field", "market"],
            "constraints": [
                models.UniqueConstraint(fields=("field", "market"), name="rule_unique_field_market"),
                models.UniqueConstraint(
                    condition=models.Q(("market__isnull", True)), fields=("field",), name="rule_unique_default_field"
                ),
            ],
        },
    ),
    migrations.CreateModel(
        name="Position",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("external_id", models.CharField(max_length=128, unique=True)),
            ("size", models.DecimalField(decimal_places=18, max_digits=38)),
            ("entry_price", models.DecimalField(decimal_places=18, max_digits=38)),
            ("collateral", models.DecimalField(decimal_places=18, max_digits=38)),
            (
                "status",
                models.CharField(
                    choices=[("open", "Open"), ("closed", "Closed"), ("liquidated", "Liquidated")],
                    default="open",
                    max_length=16,
                ),
            ),
            (
                "side",
                models.GeneratedField(
                    db_persist=True,
                    expression=models.Case(models.When(size__gt=0, then=models.Value(1)), default=models.Value(-1)),
                    output_field=models.SmallIntegerField(),
                ),
            ),
            (
                "bankruptcy_price",
                models.GeneratedField(
                    db_persist=True,
                    expression=django.db.models.expressions.CombinedExpression(
                        models.F("entry_price"),
                        "-",
                        django.db.models.expressions.CombinedExpression(models.F("collateral"), "/", models.F("size")),
                    ),
                    output_field=models.DecimalField(decimal_places=18, max_digits=58),
                ),
            ),
            ("opened_at", models.DateTimeField()),
            ("updated_at", models.DateTimeField(auto_now=True)),
            ("closed_at", models.DateTimeField(blank=True, null=True)),
            (
                "account",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, related_name="positions", to="markets.account"
                ),
            ),
            (
                "market",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, related_name="positions", to="markets.market"
                ),
            ),
        ],
        options={
            "db_table": "riskgov_position",
            "indexes": [
                models.Index(
                    condition=models.Q(("status", "open")),
                    fields=["market", "side", "bankruptcy_price"],
                    name="position_open_risk_idx",
                ),
                models.Index(
                    condition=models.Q(("status", "open")),
                    fields=["market", "side", "size", "id"],
                    name="position_open_size_idx",
                ),
                models.Index(
                    condition=models.Q(("status", "open")),
                    fields=["market", "side", "collateral", "id"],
                    name="position_open_collateral_idx",
                ),
                models.Index(
                    condition=models.Q(("status", "open")),
                    fields=["market", "side", "opened_at", "id"],
                    name="position_open_opened_idx",
                ),
                models.Index(fields=["status", "market"], name="position_status_market_idx"),
                models.Index(fields=["account", "status"], name="position_account_status_idx"),
            ],
            "constraints": [
                models.CheckConstraint(condition=models.Q(("size", 0), _negated=True), name="position_size_nonzero"),
                models.CheckConstraint(
                    condition=models.Q(("entry_price__gt", 0)), name="position_entry_price_positive"
                ),
                models.CheckConstraint(
                    condition=models.Q(("collateral__gte", 0)), name="position_collateral_nonnegative"
                ),
            ],
        },
    ),
    migrations.CreateModel(
        name="PriceObservation",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("price", models.DecimalField(decimal_places=18, max_digits=38)),
            ("observed_at", models.DateTimeField()),
            ("source", models.CharField(default="import", max_length=64)),
            ("round_id", models.CharField(blank=True, default="", max_length=80)),
            (
                "market",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="prices", to="markets.market"
                ),
            ),
        ],
        options={
            "db_table": "riskgov_priceobservation",
            "ordering": ["-observed_at"],
            "indexes": [models.Index(fields=["market", "-observed_at"], name="price_market_time_idx")],
            "constraints": [
                models.CheckConstraint(condition=models.Q(("price__gt", 0)), name="price_positive"),
                models.UniqueConstraint(fields=("market", "source", "observed_at"), name="price_unique_per_source"),
            ],
        },
    ),
]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("riskgov", "0009_monitoring_schedules"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=STATE_OPERATIONS),
    ]
