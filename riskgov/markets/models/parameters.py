from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from riskgov.core.models.fields import amount_field, rate_field
from riskgov.core.models.versions import ChangeSource, MarketVersion
from riskgov.markets.models.markets import Market

__all__ = ["PARAMETER_FIELDS", "ChangeSource", "MarginParameters", "ParameterRule"]

# The fields a change may touch; rates are fractions (0.05 = 5 %), oi_cap and sizes are quote notional.
PARAMETER_FIELDS = (
    "imr",
    "mmr",
    "max_leverage",
    "liquidation_penalty",
    "insurance_fee_share",
    "oi_cap",
    "size_margin_base",
    "size_margin_slope",
)


class MarginParametersQuerySet(models.QuerySet["MarginParameters"]):
    def effective(self, at: Any = None) -> MarginParametersQuerySet:
        return self.filter(effective_at__lte=at or timezone.now())

    def current_for(self, market: Market, at: Any = None) -> MarginParameters:
        """The newest version in force for `market`; raises DoesNotExist when it has none."""
        return self.effective(at).filter(market=market).latest("version")


class MarginParameters(MarketVersion):
    """One immutable version of a market's margin parameters. A change adds a version."""

    VERSIONED_FIELDS = PARAMETER_FIELDS

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="parameter_versions")
    imr = rate_field(help_text="Initial margin rate, fraction of notional.")
    mmr = rate_field(help_text="Maintenance margin rate, fraction of notional.")
    max_leverage = models.DecimalField(max_digits=10, decimal_places=4)
    liquidation_penalty = rate_field(help_text="Fraction of liquidated notional paid to the fund.")
    insurance_fee_share = rate_field(help_text="Share of trading fees paid to the insurance fund.")
    oi_cap = amount_field(null=True, blank=True, help_text="Open-interest cap per side, quote notional.")
    size_margin_base = amount_field(
        null=True, blank=True, help_text="Notional above which the initial margin grows (quote units)."
    )
    size_margin_slope = rate_field(
        null=True, blank=True, help_text="Extra IMR per 1,000,000 quote notional above the base."
    )
    objects = MarginParametersQuerySet.as_manager()

    class Meta:
        db_table = "riskgov_marginparameters"
        verbose_name = "margin parameters"
        verbose_name_plural = "margin parameters"
        ordering = ["market", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["market", "version"], name="parameters_unique_version"),
            models.CheckConstraint(
                condition=Q(liquidation_penalty__gt=0)
                & Q(mmr__gt=F("liquidation_penalty"))
                & Q(imr__gt=F("mmr"))
                & Q(imr__lte=1),
                name="parameters_rate_order",
            ),
            models.CheckConstraint(condition=Q(max_leverage__gt=0), name="parameters_leverage_positive"),
            models.CheckConstraint(
                condition=Q(insurance_fee_share__gte=0) & Q(insurance_fee_share__lte=1),
                name="parameters_fee_share_fraction",
            ),
        ]
        indexes = [models.Index(fields=["market", "effective_at"], name="parameters_market_time_idx")]

    def __str__(self) -> str:
        return f"{self.market} v{self.version}"


class ParameterRule(models.Model):
    """Bounds for one parameter field: hard range and the steward's maximum change per update.

    A row with no market is the default; a market-specific row overrides it. Relative change is a
    fraction of the current value (0.25 = ±25 %).
    """

    field = models.CharField(max_length=32, choices=[(f, f) for f in PARAMETER_FIELDS])
    market = models.ForeignKey(Market, on_delete=models.CASCADE, null=True, blank=True, related_name="rules")
    min_value = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)
    max_value = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)
    max_abs_change = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)
    max_rel_change = rate_field(null=True, blank=True)

    class Meta:
        db_table = "riskgov_parameterrule"
        constraints = [
            models.UniqueConstraint(fields=["field", "market"], name="rule_unique_field_market"),
            models.UniqueConstraint(
                fields=["field"], condition=Q(market__isnull=True), name="rule_unique_default_field"
            ),
        ]
        ordering = ["field", "market"]

    def __str__(self) -> str:
        scope = self.market.symbol if self.market is not None else "default"
        return f"{self.field} ({scope})"
