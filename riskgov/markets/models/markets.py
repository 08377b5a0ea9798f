from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from riskgov.core.models.fields import amount_field, rate_field


class LossWaterfall(models.TextChoices):
    """Who pays bad debt the insurance fund cannot absorb."""

    SOCIALISED = "socialised", "Socialised loss"
    ADL = "adl", "Auto-deleveraging of profitable opposite positions"


class Market(models.Model):
    """A perpetual market, e.g. ETH-USD. Prices are quote units per base unit."""

    symbol = models.CharField(max_length=32, unique=True, help_text="Base asset ticker, e.g. ETH.")
    name = models.CharField(max_length=100)
    quote_asset = models.CharField(max_length=16, default="USD")
    chain_market_id = models.PositiveIntegerField(null=True, blank=True, unique=True)
    depth = amount_field(
        default=Decimal("10000000"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Quote notional that moves the price by about 1 % (for liquidation impact).",
    )
    reference_volatility = rate_field(
        default=Decimal("0.8"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Annualised volatility used when price history is too short to estimate it.",
    )
    steward_min_delay_hours = models.PositiveIntegerField(
        default=72, help_text="Minimum hours between two admin (steward) parameter updates."
    )
    loss_waterfall = models.CharField(
        max_length=16,
        choices=LossWaterfall.choices,
        default=LossWaterfall.SOCIALISED,
        help_text="After the insurance fund: socialise the shortfall, or close profitable opposite positions "
        "(ranked by profit and leverage) at the bankrupt position's bankruptcy price.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "riskgov_market"
        ordering = ["symbol"]

    def __str__(self) -> str:
        return f"{self.symbol}-{self.quote_asset}"
