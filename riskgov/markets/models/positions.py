from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.expressions import CombinedExpression

from riskgov.core.formatting import plain
from riskgov.core.models.fields import AMOUNT_DIGITS, AMOUNT_PLACES, amount_field
from riskgov.markets.models.accounts import Account
from riskgov.markets.models.markets import Market


class PositionStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    LIQUIDATED = "liquidated", "Liquidated"


_BANKRUPTCY_OUTPUT: models.DecimalField = models.DecimalField(
    max_digits=AMOUNT_DIGITS + 20, decimal_places=AMOUNT_PLACES
)
# C·1.0/s: SQLite stores integral NUMERIC values as INTEGER and would divide them as integers; the REAL
# literal makes it divide as REAL. The FloatField type only stops Django from wrapping the product in
# CAST(… AS NUMERIC), which would turn it back into an INTEGER. PostgreSQL keeps NUMERIC throughout.
_COLLATERAL_PER_SIZE = CombinedExpression(
    CombinedExpression(F("collateral"), "*", Value(1.0), output_field=models.FloatField()),
    "/",
    F("size"),
    output_field=models.FloatField(),
)


class Position(models.Model):
    """An isolated-margin position. Size is signed base units (>0 long); collateral in quote units.

    `bankruptcy_price` (equity = 0) is stored by the database: e − C/s covers both sides. Leverage,
    margin ratio and distance to liquidation at a mark price are monotone in it, so list filters
    and sorts are index range scans.
    """

    external_id = models.CharField(max_length=128, unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="positions")
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="positions")
    size = amount_field()
    entry_price = amount_field()
    collateral = amount_field()
    status = models.CharField(max_length=16, choices=PositionStatus.choices, default=PositionStatus.OPEN)
    side = models.GeneratedField(
        expression=Case(When(size__gt=0, then=Value(1)), default=Value(-1)),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )
    bankruptcy_price = models.GeneratedField(
        expression=CombinedExpression(F("entry_price"), "-", _COLLATERAL_PER_SIZE, output_field=_BANKRUPTCY_OUTPUT),
        output_field=_BANKRUPTCY_OUTPUT,
        db_persist=True,
    )
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "riskgov_position"
        constraints = [
            models.CheckConstraint(condition=~Q(size=0), name="position_size_nonzero"),
            models.CheckConstraint(condition=Q(entry_price__gt=0), name="position_entry_price_positive"),
            models.CheckConstraint(condition=Q(collateral__gte=0), name="position_collateral_nonnegative"),
        ]
        indexes = [
            models.Index(
                fields=["market", "side", "bankruptcy_price"],
                name="position_open_risk_idx",
                condition=Q(status="open"),
            ),
            # The positions list's other sorts, read per (market, side) stream; id keys the page cursor.
            models.Index(
                fields=["market", "side", "size", "id"], name="position_open_size_idx", condition=Q(status="open")
            ),
            models.Index(
                fields=["market", "side", "collateral", "id"],
                name="position_open_collateral_idx",
                condition=Q(status="open"),
            ),
            models.Index(
                fields=["market", "side", "opened_at", "id"],
                name="position_open_opened_idx",
                condition=Q(status="open"),
            ),
            models.Index(fields=["status", "market"], name="position_status_market_idx"),
            models.Index(fields=["account", "status"], name="position_account_status_idx"),
            # An account search's (market, side) streams: a range of one account's positions, not a
            # bitmap of the account's rows and the whole market's.
            models.Index(
                fields=["account", "market", "side", "bankruptcy_price"],
                name="position_open_account_risk_idx",
                condition=Q(status="open"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.market_id} {plain(self.size)}@{plain(self.entry_price)}"

    @property
    def is_long(self) -> bool:
        return self.size > 0
