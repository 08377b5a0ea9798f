"""The one set of display filters: money, prices, rates, leverage, changes, token amounts, durations and
addresses. Inputs are Decimal, float, int, decimal strings or None (shown as a dash)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()

Number = Decimal | float | int | None
DASH = "—"
WHOLE_DOLLARS_FROM = 100  # `usd` drops the cents from here up
PRICE_CENTS_FROM = 1000  # `price` shows two decimals from here up, four below (six significant digits under 1)
WHOLE_TOKENS_FROM = 1000  # `tokens` drops the decimals from here up
SHORTEN_ADDRESS_OVER = 12  # characters; `short_address` leaves shorter values whole


def as_decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def usd(value: Number) -> str:
    """Compact quote amount: $1.23B, $45.6M, $7.8K, $950."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if not amount.is_finite():
        return "∞"
    sign = "−" if amount < 0 else ""
    amount = abs(amount)
    for threshold, suffix in ((Decimal("1e9"), "B"), (Decimal("1e6"), "M"), (Decimal("1e3"), "K")):
        if amount >= threshold:
            return f"{sign}${amount / threshold:,.2f}{suffix}"
    return f"{sign}${amount:,.0f}" if amount >= WHOLE_DOLLARS_FROM else f"{sign}${amount:,.2f}"


@register.filter
def money(value: Number) -> str:
    """Full quote amount with two decimals and thousands separators."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    return f"{amount:,.2f}"


@register.filter
def price(value: Number) -> str:
    """A price with precision that suits its size (BTC 97,123.45; a small-cap 0.012345)."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if not amount.is_finite():
        return "∞"
    if abs(amount) >= PRICE_CENTS_FROM:
        return f"{amount:,.2f}"
    if abs(amount) >= 1:
        return f"{amount:,.4f}"
    return f"{amount:.6g}"


@register.filter
def quantity(value: Number) -> str:
    amount = as_decimal(value)
    if amount is None:
        return DASH
    return f"{amount:,.4f}".rstrip("0").rstrip(".")


@register.filter
def pct(value: Number, places: int = 2) -> str:
    """A fraction as a percentage: 0.0525 → 5.25 %."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if not amount.is_finite():
        return "∞" if amount > 0 else "−∞"
    return f"{amount * 100:,.{int(places)}f} %"


@register.filter
def leverage(value: Number) -> str:
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if not amount.is_finite():
        return "∞"
    return f"{amount:,.2f}x"


@register.filter
def count(value: Number) -> str:
    return DASH if value is None else str(intcomma(int(value)))


@register.filter
def short_address(value: str | None) -> str:
    """0x12ab…cdef"""
    if not value:
        return DASH
    return f"{value[:6]}…{value[-4:]}" if len(value) > SHORTEN_ADDRESS_OVER else value


@register.filter
def percent(value: Number) -> str:
    """A fraction as a percentage with the digits it has: 0.035 → 3.5 %."""
    amount = as_decimal(value)
    return DASH if amount is None else f"{(amount * 100).normalize():f} %"


@register.filter
def signed_usd(value: object) -> str:
    """A change in quote units: +$1.20M, −$350K, ±$0."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if amount == 0:
        return "±$0"
    return ("+" if amount > 0 else "") + usd(amount)


@register.filter
def signed_points(value: object, places: int = 1) -> str:
    """A change of a fraction, in percentage points: 0.012 → +1.2 pp."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    return f"{amount * 100:+,.{int(places)}f} pp".replace("-", "−")


@register.filter
def signed_number(value: object, places: int = 0) -> str:
    amount = as_decimal(value)
    if amount is None:
        return DASH
    return f"{amount:+,.{int(places)}f}".replace("-", "−")


@register.filter
def trend(value: object) -> str:
    """A CSS class for a change: rpt-long when it rose, rpt-short when it fell."""
    amount = as_decimal(value)
    if amount is None or amount == 0:
        return "rpt-muted"
    return "rpt-long" if amount > 0 else "rpt-short"


RATE_FIELDS = {"imr", "mmr", "liquidation_penalty", "insurance_fee_share", "size_margin_slope"}
QUOTE_FIELDS = {"oi_cap", "size_margin_base"}


@register.filter
def param_value(value: object, field: str) -> str:
    """A margin parameter for people: rates as percentages (3.5 %), leverage as a multiple (18×), caps in
    dollars ($250.00M)."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if field in RATE_FIELDS:
        return f"{(amount * 100).normalize():f} %"
    if field == "max_leverage":
        return f"{amount.normalize():f}×"
    if field in QUOTE_FIELDS:
        return usd(amount)
    return f"{amount:,.0f}"


WEI = Decimal(10) ** 18


@register.filter
def tokens(value: Number | str) -> str:
    """Token wei → whole tokens with thousands separators (2 decimals below 1,000)."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    amount /= WEI
    return f"{amount:,.0f}" if abs(amount) >= WHOLE_TOKENS_FROM else f"{amount:,.2f}"


@register.filter
def coverage_ratio(value: float | None) -> str:
    """Fund ÷ ES99; None stands for no tail loss at all (unbounded coverage)."""
    return "∞" if value is None else f"{value:,.2f}×"


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as the two largest whole units: 259200 → "3 d", 5400 → "1 h 30 min", 200 → "3 min 20 s"."""
    if seconds is None:
        return DASH
    remaining, parts = round(seconds), []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if remaining >= size:
            parts.append(f"{remaining // size} {unit}")
            remaining %= size
    return " ".join(parts[:2]) or "0 s"


@register.filter
def get_item(mapping: object, key: str) -> object:
    """`mapping[key]`, or None when it is not a dict or has no such key."""
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def chart(charts: dict[str, str] | None, name: str) -> str:
    """The SVG of chart `name` ("" when there is none)."""
    return charts.get(name, "") if charts else ""


P_VALUE_FLOOR = 0.001  # smaller p-values print as "< 0.001": the digits beyond carry no decision


@register.filter
def p_value(value: float | None) -> str:
    """A test's p-value for people: three decimals, "< 0.001" below that (never 2.83e-170); pages, CLI, reports."""
    if value is None:
        return DASH
    if value < P_VALUE_FLOOR:
        return f"< {P_VALUE_FLOOR}"
    return f"{value:.3f}"
