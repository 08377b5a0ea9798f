"""Display filters for money, rates, leverage and addresses (input is Decimal or float)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()

Number = Decimal | float | int | None
DASH = "—"


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
    return f"{sign}${amount:,.0f}" if amount >= 100 else f"{sign}${amount:,.2f}"


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
    if abs(amount) >= 1000:
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
    return f"{value[:6]}…{value[-4:]}" if len(value) > 12 else value
