"""Per-position formulas from DESIGN.md, exact in Decimal.

Size `s` is signed base units (>0 long), entry `e` and mark `p` are quote per base, collateral `C`
is quote units, `mmr` a fraction. Leverage is infinite when equity is not positive.
"""

from dataclasses import dataclass
from decimal import Decimal, localcontext

INFINITY = Decimal("Infinity")
# Enough digits that E and mmr·N of 38-digit amounts and 12-digit rates are exact, so the strict
# comparison on the boundary is never decided by rounding.
EXACT_PRECISION = 100


def notional(size: Decimal, price: Decimal) -> Decimal:
    return abs(size) * price


def equity(size: Decimal, entry_price: Decimal, collateral: Decimal, price: Decimal) -> Decimal:
    return collateral + size * (price - entry_price)


def bankruptcy_price(size: Decimal, entry_price: Decimal, collateral: Decimal) -> Decimal:
    """Price at which equity is zero: long e − C/s, short e + C/q (one expression for both)."""
    return entry_price - collateral / size


def liquidation_price(size: Decimal, entry_price: Decimal, collateral: Decimal, mmr: Decimal) -> Decimal:
    """Price at which equity equals mmr × notional.

    Long (s·e − C)/(s·(1 − mmr)); short (C + q·e)/(q·(1 + mmr)). A long at or below 1x leverage
    gets a non-positive value: it can never be liquidated.
    """
    if size > 0:
        return (size * entry_price - collateral) / (size * (1 - mmr))
    quantity = -size
    return (collateral + quantity * entry_price) / (quantity * (1 + mmr))


def is_liquidatable(size: Decimal, entry_price: Decimal, collateral: Decimal, price: Decimal, mmr: Decimal) -> bool:
    """E < mmr·N, strictly (a position exactly on the maintenance margin is not liquidatable), computed exactly."""
    with localcontext() as ctx:
        ctx.prec = EXACT_PRECISION
        return equity(size, entry_price, collateral, price) < mmr * notional(size, price)


@dataclass(frozen=True)
class PositionRisk:
    notional: Decimal
    equity: Decimal
    leverage: Decimal
    margin_ratio: Decimal
    liquidation_price: Decimal
    bankruptcy_price: Decimal
    distance_to_liquidation: Decimal
    liquidatable: bool


def position_risk(
    *, size: Decimal, entry_price: Decimal, collateral: Decimal, price: Decimal, mmr: Decimal
) -> PositionRisk:
    """All risk figures of one position at mark `price`.

    Distance to liquidation is the fractional price move that reaches the liquidation price
    (0.1 = a 10 % adverse move); negative when already liquidatable; infinite when unreachable.
    """
    n = notional(size, price)
    eq = equity(size, entry_price, collateral, price)
    liq = liquidation_price(size, entry_price, collateral, mmr)
    distance = (liq - price) / price  # short: the rise that reaches the liquidation price
    if size > 0:
        distance = (price - liq) / price if liq > 0 else INFINITY
    return PositionRisk(
        notional=n,
        equity=eq,
        leverage=n / eq if eq > 0 else INFINITY,
        margin_ratio=eq / n,
        liquidation_price=liq,
        bankruptcy_price=bankruptcy_price(size, entry_price, collateral),
        distance_to_liquidation=distance,
        liquidatable=is_liquidatable(size, entry_price, collateral, price, mmr),
    )
