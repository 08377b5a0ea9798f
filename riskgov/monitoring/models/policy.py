"""Margin policy: the rule (and its coefficients) that turns market volatility into margin parameters."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from riskgov.core.models.fields import amount_field, rate_field
from riskgov.core.models.versions import MarketVersion
from riskgov.markets.models.markets import Market

# The fields a policy change may touch. Rates are fractions; size_addon_base is quote notional.
POLICY_FIELDS = (
    "kind",
    "coefficient_a",
    "coefficient_b",
    "ewma_lambda",
    "confidence",
    "horizon_hours",
    "imr_floor",
    "imr_cap",
    "mmr_ratio",
    "size_addon_base",
    "size_addon_slope",
    "oi_depth_multiple",
    "rebalance_threshold",
    "automatic",
)


class PolicyKind(models.TextChoices):
    STATIC = "static", "Static"
    VOLATILITY_SCALED = "volatility_scaled", "Volatility-scaled"


class MarginPolicyQuerySet(models.QuerySet["MarginPolicy"]):
    def current_for(self, market: Market) -> MarginPolicy | None:
        return self.filter(market=market, effective_at__lte=timezone.now()).order_by("-version").first()


class MarginPolicy(MarketVersion):
    """One immutable version of a market's margin policy (formulas: riskgov.monitoring.domain.margin_policy)."""

    VERSIONED_FIELDS = POLICY_FIELDS

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="policy_versions")
    kind = models.CharField(max_length=24, choices=PolicyKind.choices, default=PolicyKind.VOLATILITY_SCALED)
    coefficient_a = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal("2"), help_text="Multiplier a of z·σ_h."
    )
    coefficient_b = rate_field(default=Decimal("0"), help_text="Constant b added to the IMR (static IMR).")
    ewma_lambda = models.DecimalField(
        max_digits=6, decimal_places=5, default=Decimal("0.97"), help_text="EWMA decay λ per hourly return."
    )
    confidence = models.DecimalField(
        max_digits=7,
        decimal_places=6,
        default=Decimal("0.99"),
        help_text="Two-sided confidence the MMR covers the horizon move.",
    )
    horizon_hours = models.PositiveIntegerField(default=8, help_text="Liquidation horizon h, hours.")
    imr_floor = rate_field(default=Decimal("0.01"))
    imr_cap = rate_field(default=Decimal("0.5"))
    mmr_ratio = rate_field(default=Decimal("0.5"), help_text="MMR = ratio × IMR.")
    size_addon_base = amount_field(
        null=True, blank=True, help_text="Notional above which the IMR grows (quote units); empty: no add-on."
    )
    size_addon_slope = rate_field(null=True, blank=True, help_text="Extra IMR per 1,000,000 notional above base.")
    oi_depth_multiple = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="OI cap per side = multiple × market depth; empty: the OI cap is not managed by the policy.",
    )
    rebalance_threshold = rate_field(
        default=Decimal("0.05"), help_text="Relative IMR change below which no update is recommended."
    )
    automatic = models.BooleanField(
        default=False, help_text="Apply recommendations inside the steward bounds without a person."
    )
    objects = MarginPolicyQuerySet.as_manager()

    class Meta:
        db_table = "riskgov_marginpolicy"
        verbose_name = "margin policy"
        verbose_name_plural = "margin policies"
        ordering = ["market", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["market", "version"], name="policy_unique_version"),
            models.CheckConstraint(condition=Q(ewma_lambda__gt=0) & Q(ewma_lambda__lt=1), name="policy_lambda_range"),
            models.CheckConstraint(
                condition=Q(confidence__gt=Decimal("0.5")) & Q(confidence__lt=1), name="policy_confidence_range"
            ),
            models.CheckConstraint(
                condition=Q(imr_floor__gt=0) & Q(imr_cap__gte=F("imr_floor")) & Q(imr_cap__lte=1),
                name="policy_floor_cap_order",
            ),
            models.CheckConstraint(condition=Q(mmr_ratio__gt=0) & Q(mmr_ratio__lt=1), name="policy_mmr_ratio_range"),
            models.CheckConstraint(condition=Q(horizon_hours__gt=0), name="policy_horizon_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.market} policy v{self.version}"

    @property
    def is_volatility_scaled(self) -> bool:
        return self.kind == PolicyKind.VOLATILITY_SCALED
