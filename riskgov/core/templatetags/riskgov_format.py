"""The one set of display filters: money, prices, rates, leverage, changes, token amounts, durations and
addresses. Inputs are Decimal, float, int, decimal strings or None (shown as a dash)."""

from __future__ import annotations

from django import template

from riskgov.core import formatting
from riskgov.core.formatting import DASH, Number, as_decimal

register = template.Library()

SHORTEN_ADDRESS_OVER = 12  # characters; `short_address` leaves shorter values whole

# The number filters are riskgov.core.formatting's functions, so pages, admin, CSV and PDF print a figure alike.
usd = register.filter("usd", formatting.usd)
money = register.filter("money", formatting.money)
price = register.filter("price", formatting.price)
quantity = register.filter("quantity", formatting.size)
size = register.filter("size", formatting.size)
leverage = register.filter("leverage", formatting.leverage)
count = register.filter("count", formatting.count)
market_name = register.filter("market_name", formatting.market_name)
plain = register.filter("plain", formatting.plain)
multiple = register.filter("multiple", formatting.multiple)
signed_usd = register.filter("signed_usd", formatting.signed_usd)
p_value = register.filter("p_value", formatting.p_value)


@register.filter
def pct(value: Number, places: int = formatting.RATE_PLACES) -> str:
    """A fraction as a percentage: 0.0525 → 5.25 %."""
    return formatting.rate(value, int(places))


@register.filter
def percent(value: Number) -> str:
    """A fraction as a percentage, as every rate shows: 0.035 → 3.50 %."""
    return formatting.rate(value)


@register.filter
def signed_points(value: Number, places: int = 1) -> str:
    """A change of a fraction, in percentage points: 0.012 → +1.2 pp."""
    return formatting.signed_points(value, int(places))


@register.filter
def signed_number(value: Number, places: int = 0) -> str:
    return formatting.signed_number(value, int(places))


@register.filter
def short_address(value: str | None) -> str:
    """0x12ab…cdef"""
    if not value:
        return DASH
    return f"{value[:6]}…{value[-4:]}" if len(value) > SHORTEN_ADDRESS_OVER else value


@register.filter
def trend(value: object) -> str:
    """A CSS class for a change: rpt-long when it rose, rpt-short when it fell."""
    amount = as_decimal(value)
    if amount is None or amount == 0:
        return "rpt-muted"
    return "rpt-long" if amount > 0 else "rpt-short"


param_value = register.filter("param_value", formatting.parameter_value)
tokens = register.filter("tokens", formatting.tokens)
# coverage ratio (fund ÷ ES99); None: no tail loss at all (unbounded coverage)
coverage_ratio = register.filter("coverage_ratio", formatting.multiple)


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as the two largest whole units: 259200 → "3 d", 5400 → "1 h 30 min", 200 → "3 min 20 s"."""
    if seconds is None:
        return DASH
    remaining, parts = round(seconds), []
    for length, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if remaining >= length:
            parts.append(f"{remaining // length} {unit}")
            remaining %= length
    return " ".join(parts[:2]) or "0 s"


@register.filter
def get_item(mapping: object, key: str) -> object:
    """`mapping[key]`, or None when it is not a dict or has no such key."""
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def chart(charts: dict[str, str] | None, name: str) -> str:
    """The SVG of chart `name` ("" when there is none)."""
    return charts.get(name, "") if charts else ""
