from django.db import models

from riskgov.core.formatting import plain
from riskgov.core.models.fields import amount_field
from riskgov.markets.models.markets import Market


class PriceObservation(models.Model):
    """One oracle or mark price for a market, in quote units per base unit."""

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="prices")
    price = amount_field()
    observed_at = models.DateTimeField()
    source = models.CharField(max_length=64, default="import")
    round_id = models.CharField(max_length=80, blank=True, default="")

    class Meta:
        db_table = "riskgov_priceobservation"
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="price_positive"),
            models.UniqueConstraint(fields=["market", "source", "observed_at"], name="price_unique_per_source"),
        ]
        indexes = [models.Index(fields=["market", "-observed_at"], name="price_market_time_idx")]
        ordering = ["-observed_at"]

    def __str__(self) -> str:
        return f"{self.market_id} {plain(self.price)} @ {self.observed_at:%Y-%m-%d %H:%M}"
