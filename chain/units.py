"""Conversions between on-chain integers and ``Decimal`` values, and market-id encoding.

The contracts use 1e18 fixed point for amounts, sizes, rates and PerpMarket prices, and the
feed's ``decimals()`` (8 by convention) for PriceFeed answers.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

WAD_DECIMALS = 18
FEED_DECIMALS = 8
WAD = 10**WAD_DECIMALS
BYTES32_LENGTH = 32  # a market id is one bytes32 word


def to_fixed(value: Decimal | int | str, decimals: int = WAD_DECIMALS) -> int:
    """``Decimal("1.5")`` -> ``1_500_000_000_000_000_000`` (1e18 by default); rounds half-even."""
    with localcontext() as ctx:
        ctx.prec = 80  # enough digits for any uint256
        scaled = (Decimal(value) * (Decimal(10) ** decimals)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int(scaled)


def from_fixed(value: int, decimals: int = WAD_DECIMALS) -> Decimal:
    """``1_500_000_000_000_000_000`` -> ``Decimal("1.5")`` (exact; 1e18 by default)."""
    with localcontext() as ctx:
        ctx.prec = 80
        return (Decimal(value) / (Decimal(10) ** decimals)).normalize()


def oi_cap_base_units(quote_notional: Decimal, mark_price: Decimal) -> Decimal:
    """An open-interest cap in quote notional (``MarginParameters.oi_cap``) -> base units per side, as
    ``RiskParameterRegistry`` stores it, at ``mark_price`` (quote per base); 18 places like the chain."""
    if mark_price <= 0:
        raise ValueError(f"mark price must be positive, got {mark_price}")
    with localcontext() as ctx:
        ctx.prec = 80
        return (Decimal(quote_notional) / Decimal(mark_price)).quantize(Decimal(1).scaleb(-WAD_DECIMALS))


def oi_cap_quote_notional(base_units: Decimal, mark_price: Decimal) -> Decimal:
    """The inverse of :func:`oi_cap_base_units`: a registry OI cap (base units) -> quote notional."""
    with localcontext() as ctx:
        ctx.prec = 80
        return Decimal(base_units) * Decimal(mark_price)


def market_id(symbol: str) -> bytes:
    """Market symbol -> ``bytes32`` id: ASCII, left-aligned, zero-padded (``"ETH-USD"``)."""
    raw = symbol.encode("ascii")
    if not raw or len(raw) > BYTES32_LENGTH or b"\x00" in raw:
        raise ValueError(f"market symbol must be 1..{BYTES32_LENGTH} ASCII characters without NUL: {symbol!r}")
    return raw.ljust(BYTES32_LENGTH, b"\x00")


def market_symbol(market_id_bytes: bytes) -> str:
    """``bytes32`` id -> market symbol (inverse of :func:`market_id`)."""
    if len(market_id_bytes) != BYTES32_LENGTH:
        raise ValueError(f"market id must be {BYTES32_LENGTH} bytes, got {len(market_id_bytes)}")
    return market_id_bytes.rstrip(b"\x00").decode("ascii")
