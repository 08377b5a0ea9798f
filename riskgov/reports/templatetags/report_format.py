"""Display filters for report changes and thresholds (inputs are decimal strings, floats or None)."""

from __future__ import annotations

from django import template

from riskgov.core.templatetags.riskgov_format import DASH, as_decimal, usd

register = template.Library()


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


@register.filter
def chart(charts: dict[str, str], name: str) -> str:
    """The SVG of chart `name` ("" when the report has none)."""
    return charts.get(name, "") if charts else ""


@register.filter
def param_value(value: object, field: str) -> str:
    """A margin parameter for people: rates as percentages, leverage as a multiple, caps in dollars."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if field in {"max_leverage"}:
        return f"{amount:,.2f}x"
    if field in {"oi_cap", "size_margin_base"}:
        return usd(amount)
    return f"{amount * 100:,.3f} %".replace(".000 %", " %")
