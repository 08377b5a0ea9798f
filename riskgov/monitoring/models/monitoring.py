"""Oracle feeds, margin recommendations, alert rules, alerts and their deliveries."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from riskgov.core.models.outbox import OutboxDelivery, OutboxStatus
from riskgov.markets.models.accounts import validate_address
from riskgov.markets.models.markets import Market
from riskgov.markets.models.parameters import MarginParameters
from riskgov.monitoring.models.policy import MarginPolicy


class PriceFeed(models.Model):
    """One oracle feed of a market; its prices are PriceObservation rows whose source equals `source`."""

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="feeds")
    name = models.CharField(max_length=64)
    source = models.CharField(max_length=64, help_text="PriceObservation.source of this feed's prices.")
    heartbeat_seconds = models.PositiveIntegerField(default=3600, help_text="Stale without an update this long.")
    deviation_threshold = models.DecimalField(
        max_digits=8, decimal_places=6, default="0.02", help_text="Largest accepted |price / median − 1|."
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        db_table = "riskgov_pricefeed"
        ordering = ["market", "name"]
        constraints = [
            models.UniqueConstraint(fields=["market", "source"], name="feed_unique_market_source"),
            models.UniqueConstraint(fields=["market", "name"], name="feed_unique_market_name"),
        ]

    def __str__(self) -> str:
        return f"{self.market.symbol} {self.name}"


class RecommendationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPLIED = "applied", "Applied"
    DISMISSED = "dismissed", "Dismissed"
    PROPOSED = "proposed", "Turned into a proposal"
    SUPERSEDED = "superseded", "Superseded"


class MarginRecommendation(models.Model):
    """Parameters a policy recommends from one computation; the fingerprint makes each computation unique."""

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="recommendations")
    policy = models.ForeignKey(MarginPolicy, on_delete=models.PROTECT, related_name="recommendations")
    based_on = models.ForeignKey(
        MarginParameters, on_delete=models.PROTECT, related_name="+", help_text="Version in force when computed."
    )
    computed_at = models.DateTimeField()
    fingerprint = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the computation's inputs.")
    values = models.JSONField(help_text="Recommended parameter values, decimal strings.")
    evidence = models.JSONField(default=dict, help_text="σ, window, z and formula inputs; guardrail findings.")
    status = models.CharField(max_length=16, choices=RecommendationStatus.choices, default=RecommendationStatus.PENDING)
    applied_version = models.ForeignKey(
        MarginParameters, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    proposal_ref = models.CharField(max_length=64, blank=True, default="")
    decided_by = models.CharField(max_length=150, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    coverage_current = models.ForeignKey(
        "insurance.CoverageRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="What-if run of the paired coverage preview under the parameters in force.",
    )
    coverage_proposed = models.ForeignKey(
        "insurance.CoverageRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="What-if run of the paired coverage preview under the recommended values (same seed and book).",
    )
    coverage_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When the coverage preview was sent to the workers."
    )
    coverage_error = models.TextField(blank=True, help_text="Why the coverage preview could not be started.")

    class Meta:
        db_table = "riskgov_marginrecommendation"
        ordering = ["-computed_at", "-pk"]
        indexes = [models.Index(fields=["market", "status", "-computed_at"], name="recommendation_market_idx")]

    def __str__(self) -> str:
        return f"{self.market.symbol} recommendation {self.computed_at:%Y-%m-%d %H:%M} ({self.status})"


class AlertKind(models.TextChoices):
    COVERAGE_RATIO_BELOW = "coverage_ratio_below", "Coverage ratio below"
    EXHAUSTION_ABOVE = "exhaustion_above", "P(fund exhausted) above"
    NEAR_LIQ_NOTIONAL_ABOVE = "near_liq_notional_above", "Notional within 5 % of liquidation above"
    OI_SHARE_OF_CAP_ABOVE = "oi_share_of_cap_above", "Open interest share of cap above"
    VOLATILITY_JUMP = "volatility_jump", "Volatility jump (24 h vs 30 d) above"
    ORACLE_STALE_OR_DEVIATING = "oracle_stale_or_deviating", "Oracle feed stale or deviating"
    INDEXER_LAG_ABOVE = "indexer_lag_above", "Indexer lag above (seconds)"
    SNAPSHOT_FAILING = "snapshot_failing", "Exposure snapshot failing or older than (minutes)"
    AUTOMATIC_PARAMETER_CHANGE = "automatic_parameter_change", "Margin policy changed parameters (within hours)"
    RELAYER_BALANCE_BELOW = "relayer_balance_below", "Vote relayer balance below (ETH)"


# Kinds evaluated per market (a rule without a market covers every active market); the rest are protocol-wide.
MARKET_KINDS = (
    AlertKind.NEAR_LIQ_NOTIONAL_ABOVE,
    AlertKind.OI_SHARE_OF_CAP_ABOVE,
    AlertKind.VOLATILITY_JUMP,
    AlertKind.ORACLE_STALE_OR_DEVIATING,
    AlertKind.AUTOMATIC_PARAMETER_CHANGE,
)


class AlertSeverity(models.IntegerChoices):
    """How urgent an alert is; stored as a rank so the most severe sorts first."""

    INFO = 1, "Info"
    WARNING = 2, "Warning"
    CRITICAL = 3, "Critical"


# A rule without its own severity takes its kind's: the fund and the oracle are critical, the rest warn or inform.
DEFAULT_SEVERITY = {
    AlertKind.COVERAGE_RATIO_BELOW: AlertSeverity.CRITICAL,
    AlertKind.EXHAUSTION_ABOVE: AlertSeverity.CRITICAL,
    AlertKind.NEAR_LIQ_NOTIONAL_ABOVE: AlertSeverity.WARNING,
    AlertKind.OI_SHARE_OF_CAP_ABOVE: AlertSeverity.WARNING,
    AlertKind.VOLATILITY_JUMP: AlertSeverity.INFO,
    AlertKind.ORACLE_STALE_OR_DEVIATING: AlertSeverity.CRITICAL,
    AlertKind.INDEXER_LAG_ABOVE: AlertSeverity.WARNING,
    AlertKind.SNAPSHOT_FAILING: AlertSeverity.CRITICAL,
    AlertKind.AUTOMATIC_PARAMETER_CHANGE: AlertSeverity.INFO,
    AlertKind.RELAYER_BALANCE_BELOW: AlertSeverity.WARNING,
}


class AlertRule(models.Model):
    """A condition watched every minute. Thresholds: ratios and shares are fractions, notional quote units."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    threshold = models.DecimalField(max_digits=38, decimal_places=8)
    market = models.ForeignKey(
        Market,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
        help_text="Empty: every active market (market kinds) or the protocol (other kinds).",
    )
    severity = models.PositiveSmallIntegerField(
        choices=AlertSeverity.choices,
        null=True,
        blank=True,
        help_text="Empty: the kind's default. Copied onto each alert when it opens.",
    )
    address = models.CharField(
        max_length=42,
        blank=True,
        validators=[validate_address],
        help_text="Relayer balance rules: the account to watch; empty: the vote relayer (CHAIN_RELAYER_KEY).",
    )
    enabled = models.BooleanField(default=True)
    recipients = models.JSONField(default=list, blank=True, help_text="E-mail addresses.")
    webhook_urls = models.JSONField(default=list, blank=True)
    webhook_secret = models.CharField(max_length=128, blank=True, default="", help_text="HMAC-SHA256 key.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "riskgov_alertrule"
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_severity(self) -> AlertSeverity:
        if self.severity is not None:
            return AlertSeverity(self.severity)
        return DEFAULT_SEVERITY.get(AlertKind(self.kind), AlertSeverity.WARNING)


REASON_MAX_LENGTH = 500


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    """A rule's condition holding for a market (or the protocol) from `opened_at` until it clears or a person
    resolves it. Acknowledging says someone is on it; snoozing hides it from the banner and its deliveries
    until `snoozed_until`. Who and why are kept here for the page and in the audit log."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    market = models.ForeignKey(Market, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts")
    severity = models.PositiveSmallIntegerField(choices=AlertSeverity.choices, default=AlertSeverity.WARNING)
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True, default="", help_text="Empty: the sweep.")
    resolve_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True, default="")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True, default="")
    acknowledge_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True, default="")
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snoozed_by = models.CharField(max_length=150, blank=True, default="")
    snooze_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True, default="")
    last_seen_at = models.DateTimeField()
    summary = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict, help_text="Values when the alert opened.")
    latest_evidence = models.JSONField(default=dict, help_text="Values at the latest evaluation.")

    class Meta:
        db_table = "riskgov_alert"
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "market"],
                condition=Q(state="open") & Q(market__isnull=False),
                name="alert_one_open_per_rule_market",
            ),
            models.UniqueConstraint(
                fields=["rule"],
                condition=Q(state="open") & Q(market__isnull=True),
                name="alert_one_open_per_rule_protocol",
            ),
            models.CheckConstraint(
                condition=Q(state="open", resolved_at__isnull=True) | Q(state="resolved", resolved_at__isnull=False),
                name="alert_resolved_at_matches_state",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "-opened_at"], name="alert_state_idx"),
            models.Index(fields=["state", "-severity", "-opened_at"], name="alert_state_severity_idx"),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def is_open(self) -> bool:
        return self.state == AlertState.OPEN

    @property
    def severity_name(self) -> str:
        """ "info", "warning" or "critical": for CSS classes and payloads."""
        return AlertSeverity(self.severity).name.lower()

    def is_snoozed(self, now: datetime | None = None) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > (now or timezone.now())

    @property
    def snoozed(self) -> bool:
        return self.is_snoozed()


class AlertDeliveryChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class AlertDeliveryEvent(models.TextChoices):
    OPENED = "opened", "Opened"
    RESOLVED = "resolved", "Resolved"


# Alert deliveries share the outbox's statuses.
AlertDeliveryStatus = OutboxStatus


class AlertDelivery(OutboxDelivery):
    """One notification of one alert event to one target (an address or a webhook URL); every attempt
    updates the row."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=16, choices=AlertDeliveryEvent.choices)
    channel = models.CharField(max_length=16, choices=AlertDeliveryChannel.choices)
    target = models.CharField(max_length=500)

    class Meta:
        db_table = "riskgov_alertdelivery"
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "alert deliveries"
        constraints = [
            models.UniqueConstraint(fields=["alert", "event", "channel", "target"], name="delivery_unique_target"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.event} → {self.target} ({self.status})"
