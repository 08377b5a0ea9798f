"""The monitoring tables, taken over from the `riskgov` schema history (migrations 0001–0009) as they are.

The tables already exist and keep their `riskgov_*` names: this only records them in the migration state
under their new app."""

from decimal import Decimal

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

STATE_OPERATIONS = [
    migrations.CreateModel(
        name="AlertRule",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("name", models.CharField(max_length=120)),
            (
                "kind",
                models.CharField(
                    choices=[
                        ("coverage_ratio_below", "Coverage ratio below"),
                        ("exhaustion_above", "P(fund exhausted) above"),
                        ("near_liq_notional_above", "Notional within 5 % of liquidation above"),
                        ("oi_share_of_cap_above", "Open interest share of cap above"),
                        ("volatility_jump", "Volatility jump (24 h vs 30 d) above"),
                        ("oracle_stale_or_deviating", "Oracle feed stale or deviating"),
                        ("indexer_lag_above", "Indexer lag above (seconds)"),
                    ],
                    max_length=32,
                ),
            ),
            ("threshold", models.DecimalField(decimal_places=8, max_digits=38)),
            ("enabled", models.BooleanField(default=True)),
            ("recipients", models.JSONField(blank=True, default=list, help_text="E-mail addresses.")),
            ("webhook_urls", models.JSONField(blank=True, default=list)),
            ("webhook_secret", models.CharField(blank=True, default="", help_text="HMAC-SHA256 key.", max_length=128)),
            ("created_at", models.DateTimeField(auto_now_add=True)),
            (
                "market",
                models.ForeignKey(
                    blank=True,
                    help_text="Empty: every active market (market kinds) or the protocol (other kinds).",
                    null=True,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="alert_rules",
                    to="markets.market",
                ),
            ),
        ],
        options={
            "db_table": "riskgov_alertrule",
            "ordering": ["kind", "name"],
        },
    ),
    migrations.CreateModel(
        name="Alert",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            (
                "state",
                models.CharField(choices=[("open", "Open"), ("resolved", "Resolved")], default="open", max_length=16),
            ),
            ("opened_at", models.DateTimeField()),
            ("resolved_at", models.DateTimeField(blank=True, null=True)),
            ("last_seen_at", models.DateTimeField()),
            ("summary", models.CharField(max_length=300)),
            ("evidence", models.JSONField(default=dict, help_text="Values when the alert opened.")),
            ("latest_evidence", models.JSONField(default=dict, help_text="Values at the latest evaluation.")),
            (
                "market",
                models.ForeignKey(
                    blank=True,
                    null=True,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="alerts",
                    to="markets.market",
                ),
            ),
            (
                "rule",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="alerts", to="monitoring.alertrule"
                ),
            ),
        ],
        options={
            "db_table": "riskgov_alert",
            "ordering": ["-opened_at", "-pk"],
        },
    ),
    migrations.CreateModel(
        name="MarginPolicy",
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
                "kind",
                models.CharField(
                    choices=[("static", "Static"), ("volatility_scaled", "Volatility-scaled")],
                    default="volatility_scaled",
                    max_length=24,
                ),
            ),
            (
                "coefficient_a",
                models.DecimalField(
                    decimal_places=4, default=Decimal("2"), help_text="Multiplier a of z·σ_h.", max_digits=8
                ),
            ),
            (
                "coefficient_b",
                models.DecimalField(
                    decimal_places=8,
                    default=Decimal("0"),
                    help_text="Constant b added to the IMR (static IMR).",
                    max_digits=12,
                ),
            ),
            (
                "ewma_lambda",
                models.DecimalField(
                    decimal_places=5, default=Decimal("0.97"), help_text="EWMA decay λ per hourly return.", max_digits=6
                ),
            ),
            (
                "confidence",
                models.DecimalField(
                    decimal_places=6,
                    default=Decimal("0.99"),
                    help_text="Two-sided confidence the MMR covers the horizon move.",
                    max_digits=7,
                ),
            ),
            ("horizon_hours", models.PositiveIntegerField(default=8, help_text="Liquidation horizon h, hours.")),
            ("imr_floor", models.DecimalField(decimal_places=8, default=Decimal("0.01"), max_digits=12)),
            ("imr_cap", models.DecimalField(decimal_places=8, default=Decimal("0.5"), max_digits=12)),
            (
                "mmr_ratio",
                models.DecimalField(
                    decimal_places=8, default=Decimal("0.5"), help_text="MMR = ratio × IMR.", max_digits=12
                ),
            ),
            (
                "size_addon_base",
                models.DecimalField(
                    blank=True,
                    decimal_places=18,
                    help_text="Notional above which the IMR grows (quote units); empty: no add-on.",
                    max_digits=38,
                    null=True,
                ),
            ),
            (
                "size_addon_slope",
                models.DecimalField(
                    blank=True,
                    decimal_places=8,
                    help_text="Extra IMR per 1,000,000 notional above base.",
                    max_digits=12,
                    null=True,
                ),
            ),
            (
                "oi_depth_multiple",
                models.DecimalField(
                    blank=True,
                    decimal_places=4,
                    help_text="OI cap per side = multiple × market depth; empty: the OI cap is not managed by the policy.",
                    max_digits=10,
                    null=True,
                ),
            ),
            (
                "rebalance_threshold",
                models.DecimalField(
                    decimal_places=8,
                    default=Decimal("0.05"),
                    help_text="Relative IMR change below which no update is recommended.",
                    max_digits=12,
                ),
            ),
            (
                "automatic",
                models.BooleanField(
                    default=False, help_text="Apply recommendations inside the steward bounds without a person."
                ),
            ),
            (
                "market",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, related_name="policy_versions", to="markets.market"
                ),
            ),
        ],
        options={
            "verbose_name": "margin policy",
            "verbose_name_plural": "margin policies",
            "db_table": "riskgov_marginpolicy",
            "ordering": ["market", "-version"],
        },
    ),
    migrations.CreateModel(
        name="MarginRecommendation",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("computed_at", models.DateTimeField()),
            (
                "fingerprint",
                models.CharField(help_text="SHA-256 of the computation's inputs.", max_length=64, unique=True),
            ),
            ("values", models.JSONField(help_text="Recommended parameter values, decimal strings.")),
            (
                "evidence",
                models.JSONField(default=dict, help_text="σ, window, z and formula inputs; guardrail findings."),
            ),
            (
                "status",
                models.CharField(
                    choices=[
                        ("pending", "Pending"),
                        ("applied", "Applied"),
                        ("dismissed", "Dismissed"),
                        ("proposed", "Turned into a proposal"),
                        ("superseded", "Superseded"),
                    ],
                    default="pending",
                    max_length=16,
                ),
            ),
            ("proposal_ref", models.CharField(blank=True, default="", max_length=64)),
            ("decided_by", models.CharField(blank=True, default="", max_length=150)),
            ("decided_at", models.DateTimeField(blank=True, null=True)),
            (
                "applied_version",
                models.ForeignKey(
                    blank=True,
                    null=True,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="+",
                    to="markets.marginparameters",
                ),
            ),
            (
                "based_on",
                models.ForeignKey(
                    help_text="Version in force when computed.",
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="+",
                    to="markets.marginparameters",
                ),
            ),
            (
                "market",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="recommendations", to="markets.market"
                ),
            ),
            (
                "policy",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="recommendations",
                    to="monitoring.marginpolicy",
                ),
            ),
        ],
        options={
            "db_table": "riskgov_marginrecommendation",
            "ordering": ["-computed_at", "-pk"],
        },
    ),
    migrations.CreateModel(
        name="PriceFeed",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("name", models.CharField(max_length=64)),
            ("source", models.CharField(help_text="PriceObservation.source of this feed's prices.", max_length=64)),
            (
                "heartbeat_seconds",
                models.PositiveIntegerField(default=3600, help_text="Stale without an update this long."),
            ),
            (
                "deviation_threshold",
                models.DecimalField(
                    decimal_places=6, default="0.02", help_text="Largest accepted |price / median − 1|.", max_digits=8
                ),
            ),
            ("enabled", models.BooleanField(default=True)),
            (
                "market",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="feeds", to="markets.market"
                ),
            ),
        ],
        options={
            "db_table": "riskgov_pricefeed",
            "ordering": ["market", "name"],
        },
    ),
    migrations.CreateModel(
        name="AlertDelivery",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("event", models.CharField(choices=[("opened", "Opened"), ("resolved", "Resolved")], max_length=16)),
            ("channel", models.CharField(choices=[("email", "E-mail"), ("webhook", "Webhook")], max_length=16)),
            ("target", models.CharField(max_length=500)),
            (
                "status",
                models.CharField(
                    choices=[("pending", "Pending"), ("retrying", "Retrying"), ("sent", "Sent"), ("failed", "Failed")],
                    default="pending",
                    max_length=16,
                ),
            ),
            ("attempts", models.PositiveIntegerField(default=0)),
            ("last_error", models.TextField(blank=True, default="")),
            ("response_code", models.PositiveIntegerField(blank=True, null=True)),
            ("created_at", models.DateTimeField(auto_now_add=True)),
            ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
            ("sent_at", models.DateTimeField(blank=True, null=True)),
            (
                "alert",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="monitoring.alert"
                ),
            ),
        ],
        options={
            "verbose_name_plural": "alert deliveries",
            "db_table": "riskgov_alertdelivery",
            "ordering": ["-created_at", "-pk"],
            "constraints": [
                models.UniqueConstraint(fields=("alert", "event", "channel", "target"), name="delivery_unique_target")
            ],
        },
    ),
    migrations.AddIndex(
        model_name="alert",
        index=models.Index(fields=["state", "-opened_at"], name="alert_state_idx"),
    ),
    migrations.AddConstraint(
        model_name="alert",
        constraint=models.UniqueConstraint(
            condition=models.Q(("state", "open"), ("market__isnull", False)),
            fields=("rule", "market"),
            name="alert_one_open_per_rule_market",
        ),
    ),
    migrations.AddConstraint(
        model_name="alert",
        constraint=models.UniqueConstraint(
            condition=models.Q(("state", "open"), ("market__isnull", True)),
            fields=("rule",),
            name="alert_one_open_per_rule_protocol",
        ),
    ),
    migrations.AddConstraint(
        model_name="alert",
        constraint=models.CheckConstraint(
            condition=models.Q(
                models.Q(("resolved_at__isnull", True), ("state", "open")),
                models.Q(("resolved_at__isnull", False), ("state", "resolved")),
                _connector="OR",
            ),
            name="alert_resolved_at_matches_state",
        ),
    ),
    migrations.AddConstraint(
        model_name="marginpolicy",
        constraint=models.UniqueConstraint(fields=("market", "version"), name="policy_unique_version"),
    ),
    migrations.AddConstraint(
        model_name="marginpolicy",
        constraint=models.CheckConstraint(
            condition=models.Q(("ewma_lambda__gt", 0), ("ewma_lambda__lt", 1)), name="policy_lambda_range"
        ),
    ),
    migrations.AddConstraint(
        model_name="marginpolicy",
        constraint=models.CheckConstraint(
            condition=models.Q(("confidence__gt", Decimal("0.5")), ("confidence__lt", 1)),
            name="policy_confidence_range",
        ),
    ),
    migrations.AddConstraint(
        model_name="marginpolicy",
        constraint=models.CheckConstraint(
            condition=models.Q(("imr_floor__gt", 0), ("imr_cap__gte", models.F("imr_floor")), ("imr_cap__lte", 1)),
            name="policy_floor_cap_order",
        ),
    ),
    migrations.AddConstraint(
        model_name="marginpolicy",
        constraint=models.CheckConstraint(
            condition=models.Q(("mmr_ratio__gt", 0), ("mmr_ratio__lt", 1)), name="policy_mmr_ratio_range"
        ),
    ),
    migrations.AddConstraint(
        model_name="marginpolicy",
        constraint=models.CheckConstraint(condition=models.Q(("horizon_hours__gt", 0)), name="policy_horizon_positive"),
    ),
    migrations.AddIndex(
        model_name="marginrecommendation",
        index=models.Index(fields=["market", "status", "-computed_at"], name="recommendation_market_idx"),
    ),
    migrations.AddConstraint(
        model_name="pricefeed",
        constraint=models.UniqueConstraint(fields=("market", "source"), name="feed_unique_market_source"),
    ),
    migrations.AddConstraint(
        model_name="pricefeed",
        constraint=models.UniqueConstraint(fields=("market", "name"), name="feed_unique_market_name"),
    ),
]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("riskgov", "0009_monitoring_schedules"),
        ("markets", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=STATE_OPERATIONS),
    ]
