"""The reports tables, taken over from the `riskgov` schema history (migrations 0001–0009) as they are.

The tables already exist and keep their `riskgov_*` names: this only records them in the migration state
under their new app."""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

STATE_OPERATIONS = [
    migrations.CreateModel(
        name="ReportSchedule",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("name", models.CharField(max_length=100, unique=True)),
            (
                "kind",
                models.CharField(
                    choices=[("protocol", "Protocol report"), ("market_detail", "Per-market detail")],
                    default="protocol",
                    max_length=16,
                ),
            ),
            (
                "cadence",
                models.CharField(
                    choices=[("daily", "Daily (previous UTC day)"), ("weekly", "Weekly (previous ISO week)")],
                    default="daily",
                    max_length=8,
                ),
            ),
            (
                "recipients",
                models.TextField(
                    blank=True,
                    default="",
                    help_text="E-mail addresses, one per line or comma-separated, besides subscribers.",
                ),
            ),
            ("enabled", models.BooleanField(default=True)),
            (
                "coverage_ratio_min",
                models.DecimalField(
                    decimal_places=4,
                    default=Decimal("1"),
                    help_text="Alert when the latest coverage ratio (fund ÷ ES99) is below this.",
                    max_digits=12,
                    validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                ),
            ),
            (
                "oi_cap_share_max",
                models.DecimalField(
                    decimal_places=8,
                    default=Decimal("0.9"),
                    help_text="Alert when a market's long or short OI exceeds this share of its cap.",
                    max_digits=12,
                    validators=[
                        django.core.validators.MinValueValidator(Decimal("0")),
                        django.core.validators.MaxValueValidator(Decimal("1")),
                    ],
                ),
            ),
            (
                "top10_share_max",
                models.DecimalField(
                    decimal_places=8,
                    default=Decimal("0.5"),
                    help_text="Alert when the 10 largest accounts hold more than this share of notional.",
                    max_digits=12,
                    validators=[
                        django.core.validators.MinValueValidator(Decimal("0")),
                        django.core.validators.MaxValueValidator(Decimal("1")),
                    ],
                ),
            ),
            (
                "exhaustion_probability_max",
                models.DecimalField(
                    decimal_places=8,
                    default=Decimal("0.01"),
                    help_text="Alert when the simulated P(fund exhausted) exceeds this.",
                    max_digits=12,
                    validators=[
                        django.core.validators.MinValueValidator(Decimal("0")),
                        django.core.validators.MaxValueValidator(Decimal("1")),
                    ],
                ),
            ),
            ("created_at", models.DateTimeField(auto_now_add=True)),
            (
                "crontab",
                models.ForeignKey(
                    help_text="When beat generates the report (UTC); the period reported is the previous complete one.",
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="+",
                    to="django_celery_beat.crontabschedule",
                ),
            ),
            (
                "markets",
                models.ManyToManyField(
                    blank=True,
                    db_table="riskgov_reportschedule_markets",
                    help_text="Empty means every market.",
                    related_name="+",
                    to="markets.market",
                ),
            ),
            (
                "periodic_task",
                models.OneToOneField(
                    blank=True,
                    editable=False,
                    null=True,
                    on_delete=django.db.models.deletion.SET_NULL,
                    related_name="report_schedule",
                    to="django_celery_beat.periodictask",
                ),
            ),
        ],
        options={
            "db_table": "riskgov_reportschedule",
            "ordering": ["name"],
        },
    ),
    migrations.CreateModel(
        name="ExposureReport",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            (
                "kind",
                models.CharField(
                    choices=[("protocol", "Protocol report"), ("market_detail", "Per-market detail")], max_length=16
                ),
            ),
            ("period_start", models.DateTimeField()),
            ("period_end", models.DateTimeField()),
            ("period_label", models.CharField(help_text="2026-11-24 or 2026-W47.", max_length=16)),
            ("has_data", models.BooleanField(default=True)),
            ("alert_count", models.PositiveIntegerField(default=0)),
            ("content", models.JSONField()),
            ("charts", models.JSONField(default=dict)),
            ("html", models.TextField()),
            ("requested_by", models.CharField(max_length=150)),
            ("generated_at", models.DateTimeField(auto_now_add=True)),
            (
                "snapshot",
                models.ForeignKey(
                    blank=True,
                    help_text="The protocol snapshot the figures come from (the last one in the period).",
                    null=True,
                    on_delete=django.db.models.deletion.SET_NULL,
                    related_name="+",
                    to="markets.exposuresnapshot",
                ),
            ),
            (
                "schedule",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, related_name="reports", to="reports.reportschedule"
                ),
            ),
        ],
        options={
            "db_table": "riskgov_exposurereport",
            "ordering": ["-period_end", "schedule__name"],
        },
    ),
    migrations.CreateModel(
        name="ReportSubscription",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("email", models.EmailField(max_length=254)),
            ("token", models.CharField(editable=False, max_length=64, unique=True)),
            ("created_by", models.CharField(help_text="Staff username or holder address.", max_length=150)),
            ("created_at", models.DateTimeField(auto_now_add=True)),
            (
                "schedule",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="subscriptions",
                    to="reports.reportschedule",
                ),
            ),
        ],
        options={
            "db_table": "riskgov_reportsubscription",
            "ordering": ["schedule", "email"],
        },
    ),
    migrations.CreateModel(
        name="ReportDelivery",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("recipient", models.EmailField(max_length=254)),
            (
                "status",
                models.CharField(
                    choices=[
                        ("pending", "Pending"),
                        ("sent", "Sent"),
                        ("failed", "Failed (retrying)"),
                        ("gave_up", "Failed (gave up)"),
                    ],
                    default="pending",
                    max_length=8,
                ),
            ),
            ("attempts", models.PositiveIntegerField(default=0)),
            ("last_error", models.TextField(blank=True, default="")),
            ("sent_at", models.DateTimeField(blank=True, null=True)),
            ("created_at", models.DateTimeField(auto_now_add=True)),
            (
                "report",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="reports.exposurereport"
                ),
            ),
        ],
        options={
            "verbose_name_plural": "report deliveries",
            "db_table": "riskgov_reportdelivery",
            "ordering": ["report", "recipient"],
            "constraints": [
                models.UniqueConstraint(fields=("report", "recipient"), name="report_delivery_unique_recipient")
            ],
        },
    ),
    migrations.AddIndex(
        model_name="exposurereport",
        index=models.Index(fields=["-period_end"], name="exposure_report_end_idx"),
    ),
    migrations.AddConstraint(
        model_name="exposurereport",
        constraint=models.UniqueConstraint(
            fields=("schedule", "period_start", "period_end"), name="exposure_report_unique_period"
        ),
    ),
    migrations.AddConstraint(
        model_name="exposurereport",
        constraint=models.CheckConstraint(
            condition=models.Q(("period_end__gt", models.F("period_start"))), name="exposure_report_period_order"
        ),
    ),
    migrations.AddConstraint(
        model_name="reportsubscription",
        constraint=models.UniqueConstraint(fields=("schedule", "email"), name="report_subscription_unique_email"),
    ),
]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("riskgov", "0009_monitoring_schedules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("markets", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=STATE_OPERATIONS),
    ]
