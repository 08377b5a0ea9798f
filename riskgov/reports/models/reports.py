"""Scheduled exposure reports: what to report to whom and when, the frozen reports, and their deliveries."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from riskgov.core.models.fields import rate_field
from riskgov.core.models.outbox import OutboxDelivery, OutboxStatus
from riskgov.markets.models.exposure import ExposureSnapshot
from riskgov.markets.models.markets import Market

REPORT_TASK = "riskgov.generate_exposure_report"


class ReportKind(models.TextChoices):
    PROTOCOL = "protocol", "Protocol report"
    MARKET_DETAIL = "market_detail", "Per-market detail"


class ReportCadence(models.TextChoices):
    DAILY = "daily", "Daily (previous UTC day)"
    WEEKLY = "weekly", "Weekly (previous ISO week)"


def _fraction(default: str, help_text: str) -> models.DecimalField:
    return rate_field(
        default=Decimal(default),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=help_text,
    )


class ReportSchedule(models.Model):
    """When a report is generated, for which markets, for whom, and which figures raise an alert.

    The Celery beat entry is `periodic_task` (task `riskgov.generate_exposure_report` with this row's
    id as its kwargs); `riskgov.reports.services.reports.report_schedule_sync` keeps the two in step.
    Thresholds are fractions (0.9 = 90 %) except the coverage ratio, which is fund ÷ ES99.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=ReportKind.choices, default=ReportKind.PROTOCOL)
    cadence = models.CharField(max_length=8, choices=ReportCadence.choices, default=ReportCadence.DAILY)
    crontab = models.ForeignKey(
        CrontabSchedule,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="When beat generates the report (UTC); the period reported is the previous complete one.",
    )
    markets = models.ManyToManyField(
        Market,
        blank=True,
        related_name="+",
        help_text="Empty means every market.",
        db_table="riskgov_reportschedule_markets",
    )
    recipients = models.TextField(
        blank=True, default="", help_text="E-mail addresses, one per line or comma-separated, besides subscribers."
    )
    enabled = models.BooleanField(default=True)
    coverage_ratio_min = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Alert when the latest coverage ratio (fund ÷ ES99) is below this.",
    )
    oi_cap_share_max = _fraction("0.9", "Alert when a market's long or short OI exceeds this share of its cap.")
    top10_share_max = _fraction("0.5", "Alert when the 10 largest accounts hold more than this share of notional.")
    exhaustion_probability_max = _fraction("0.01", "Alert when the simulated P(fund exhausted) exceeds this.")
    periodic_task = models.OneToOneField(
        PeriodicTask, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="report_schedule"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "riskgov_reportschedule"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReportSubscription(models.Model):
    """An address that receives a schedule's reports once confirmed; `token` signs its unsubscribe link.

    A new subscription is pending (`confirmed_at` empty) until the link of its confirmation mail is opened;
    only confirmed subscriptions receive reports.
    """

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="subscriptions")
    email = models.EmailField()
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.CharField(max_length=150, help_text="Staff username or holder address.")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the address confirmed from its mail; empty while pending."
    )

    class Meta:
        db_table = "riskgov_reportsubscription"
        ordering = ["schedule", "email"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "email"], name="report_subscription_unique_email"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.schedule}"


class ExposureReport(models.Model):
    """One schedule's report for one period [period_start, period_end), frozen when generated.

    `content` holds every figure (money as decimal strings, quote units; shares as fractions); `charts`
    the SVG charts; `html` the report body as the web page shows it. Nothing is recomputed later.
    """

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    period_label = models.CharField(max_length=16, help_text="2026-11-24 or 2026-W47.")
    snapshot = models.ForeignKey(
        ExposureSnapshot,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The protocol snapshot the figures come from (the last one in the period).",
    )
    has_data = models.BooleanField(default=True)
    alert_count = models.PositiveIntegerField(default=0)
    content = models.JSONField()
    charts = models.JSONField(default=dict)
    html = models.TextField()
    requested_by = models.CharField(max_length=150)
    generated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "riskgov_exposurereport"
        ordering = ["-period_end", "schedule__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "period_start", "period_end"], name="exposure_report_unique_period"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gt=models.F("period_start")), name="exposure_report_period_order"
            ),
        ]
        indexes = [models.Index(fields=["-period_end"], name="exposure_report_end_idx")]

    def __str__(self) -> str:
        return f"{self.schedule} · {self.period_label}"


# Report deliveries share the outbox's statuses.
DeliveryStatus = OutboxStatus


class ReportDelivery(OutboxDelivery):
    """The e-mail of one report to one recipient; retries update this row, never add one."""

    report = models.ForeignKey(ExposureReport, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.EmailField()

    class Meta:
        db_table = "riskgov_reportdelivery"
        verbose_name_plural = "report deliveries"
        ordering = ["report", "recipient"]
        constraints = [
            models.UniqueConstraint(fields=["report", "recipient"], name="report_delivery_unique_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.report} → {self.recipient} ({self.status})"
