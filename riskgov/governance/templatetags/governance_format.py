"""Template filters for governance: token amounts from wei and parameter values by field."""

from __future__ import annotations

from decimal import Decimal

from django import template

from riskgov.governance.forms import FIELD_LABELS

register = template.Library()

WEI = Decimal(10) ** 18
RATE_FIELDS = {"imr", "mmr", "liquidation_penalty", "insurance_fee_share", "size_margin_slope"}


@register.filter
def tokens(value: Decimal | int | str | None) -> str:
    """Token wei → whole tokens with thousands separators (2 decimals below 1,000)."""
    if value is None or value == "":
        return "—"
    amount = Decimal(str(value)) / WEI
    return f"{amount:,.0f}" if abs(amount) >= 1000 else f"{amount:,.2f}"


@register.filter
def param_value(value: Decimal | float | None, field: str) -> str:
    """A margin parameter for display: rates as percent, leverage as a multiple, caps in quote units."""
    if value is None:
        return "—"
    number = Decimal(str(value))
    if field in RATE_FIELDS:
        return f"{(number * 100).normalize():f} %"
    if field == "max_leverage":
        return f"{number.normalize():f}×"
    return f"{number:,.0f}"


@register.filter
def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


@register.filter
def support_label(value: int) -> str:
    return {0: "Against", 1: "For", 2: "Abstain"}.get(int(value), str(value))


@register.filter
def get_item(mapping: dict[str, object], key: str) -> object:
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def duration(seconds: int | None) -> str:
    """Seconds as the largest whole units: 259200 → "3 d", 5400 → "1 h 30 min", 45 → "45 s"."""
    if seconds is None:
        return "—"
    remaining, parts = int(seconds), []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if remaining >= size:
            parts.append(f"{remaining // size} {unit}")
            remaining %= size
    return " ".join(parts[:2]) or "0 s"


@register.filter
def percent(value: Decimal | float | None) -> str:
    return "—" if value is None else f"{(Decimal(str(value)) * 100).normalize():f} %"
