from django.db import models

from riskgov.core.models.fields import amount_field
from riskgov.markets.models.markets import Market

PROTOCOL_SCOPE = "ALL"


class ExposureSnapshot(models.Model):
    """Aggregated exposure of one market (or the whole protocol, scope "ALL") at one instant.

    Notional amounts are quote units at the snapshot's mark prices; distributions are JSON so
    history, charts and reports never re-read positions.
    """

    taken_at = models.DateTimeField()
    scope = models.CharField(max_length=32, help_text='Market symbol, or "ALL" for protocol-wide.')
    market = models.ForeignKey(Market, on_delete=models.CASCADE, null=True, blank=True, related_name="snapshots")
    mark_price = amount_field(null=True, blank=True)
    position_count = models.PositiveIntegerField()
    account_count = models.PositiveIntegerField()
    oi_long = amount_field(help_text="Long open interest, quote notional.")
    oi_short = amount_field(help_text="Short open interest, quote notional.")
    oi_long_size = amount_field(null=True, blank=True, help_text="Long open interest, base units.")
    oi_short_size = amount_field(null=True, blank=True, help_text="Short open interest, base units.")
    collateral = amount_field()
    leverage_p50 = models.FloatField(null=True)
    leverage_p90 = models.FloatField(null=True)
    leverage_p99 = models.FloatField(null=True)
    leverage_histogram = models.JSONField(default=dict)
    top10_share = models.FloatField(null=True, help_text="Share of notional held by the 10 largest accounts.")
    hhi = models.FloatField(null=True, help_text="Herfindahl index of account notional shares, 0..1.")
    top_accounts = models.JSONField(default=list)
    liquidatable_count = models.PositiveIntegerField(default=0)
    liquidatable_notional = amount_field(default=0)
    near_liquidation = models.JSONField(default=dict, help_text="{'5': {'count', 'notional'}, '10': …, '20': …}")
    shock_bad_debt = models.JSONField(default=dict, help_text="{'-50': bad debt, …, '50': …}, quote units.")
    liquidation_map = models.JSONField(default=dict, help_text="Notional liquidated by price move, per grid.")

    class Meta:
        db_table = "riskgov_exposuresnapshot"
        constraints = [models.UniqueConstraint(fields=["scope", "taken_at"], name="snapshot_unique_scope_time")]
        indexes = [models.Index(fields=["scope", "-taken_at"], name="snapshot_scope_time_idx")]
        ordering = ["-taken_at", "scope"]

    def __str__(self) -> str:
        return f"{self.scope} @ {self.taken_at:%Y-%m-%d %H:%M}"

    @property
    def oi_net(self):  # type: ignore[no-untyped-def]
        return self.oi_long - self.oi_short


class SnapshotHealth(models.Model):
    """Outcome of the periodic exposure snapshot: one row (pk 1), updated by every run.

    `failing_since` is the first failure after the last success (None while snapshots succeed), so
    pages can say how stale their figures are.
    """

    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "riskgov_snapshothealth"
        verbose_name_plural = "snapshot health"

    def __str__(self) -> str:
        return f"failing since {self.failing_since:%Y-%m-%d %H:%M}" if self.failing_since else "snapshots succeed"
