"""Realised liquidations: what the chain's ``PositionLiquidated`` events and imported history say happened."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django.db import models
from django.db.models import Q

from riskgov.core.models.fields import AMOUNT_PLACES, amount_field
from riskgov.markets.models.accounts import Account
from riskgov.markets.models.markets import Market
from riskgov.markets.models.positions import Position

AMOUNT_QUANTUM = Decimal(1).scaleb(-AMOUNT_PLACES)


def liquidation_notional(size: Decimal, price: Decimal) -> Decimal:
    """``|size| · price`` in quote units, rounded half-even to the 18 places the column keeps."""
    return (abs(size) * price).quantize(AMOUNT_QUANTUM, rounding=ROUND_HALF_EVEN)


class LiquidationSource(models.TextChoices):
    CHAIN = "chain", "Chain event"
    IMPORT = "import", "Imported history"


class Liquidation(models.Model):
    """One realised liquidation of a position at execution price ``price``.

    Size is signed base units (>0 long) as it stood when liquidated; prices, collateral, notional
    (``|size| · price``), penalty and bad debt are quote units. Bad debt is what the insurance fund had
    to absorb: ``max(0, −(collateral + size · (price − entry_price)))``. Chain rows are keyed by the
    liquidated position's external id (``chain:<chain id>:<position id>``: a position is liquidated at
    most once) and remember the log they came from; imported rows by the file's ``external_id``.
    """

    source = models.CharField(max_length=8, choices=LiquidationSource.choices)
    external_id = models.CharField(max_length=128)
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="liquidations")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="liquidations", null=True, blank=True)
    position = models.ForeignKey(
        Position, on_delete=models.SET_NULL, related_name="liquidations", null=True, blank=True
    )
    liquidated_at = models.DateTimeField()
    size = amount_field(help_text="Signed base units at liquidation (>0 long).")
    entry_price = amount_field(null=True, blank=True)
    collateral = amount_field(null=True, blank=True)
    price = amount_field(help_text="Execution (mark) price, quote per base unit.")
    notional = amount_field(help_text="|size| · price, quote units.")
    penalty = amount_field(help_text="Liquidation penalty paid into the fund, quote units.")
    bad_debt = amount_field(help_text="Shortfall the insurance fund absorbed, quote units.")
    liquidator = models.CharField(max_length=42, blank=True, default="")
    tx_hash = models.CharField(max_length=66, blank=True, default="")
    log_index = models.PositiveIntegerField(null=True, blank=True)
    block_number = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-liquidated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="liquidation_unique_source_id"),
            models.CheckConstraint(condition=~Q(size=0), name="liquidation_size_nonzero"),
            models.CheckConstraint(condition=Q(price__gt=0), name="liquidation_price_positive"),
            models.CheckConstraint(condition=Q(bad_debt__gte=0), name="liquidation_bad_debt_nonnegative"),
            models.CheckConstraint(condition=Q(penalty__gte=0), name="liquidation_penalty_nonnegative"),
        ]
        indexes = [
            models.Index(fields=["liquidated_at"], name="liquidation_time_idx"),
            models.Index(fields=["market", "liquidated_at"], name="liquidation_market_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.external_id}: {self.size}@{self.price}"
