"""Display filters for coverage figures."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def coverage_ratio(value: float | None) -> str:
    """Fund ÷ ES99; None stands for no tail loss at all (unbounded coverage)."""
    return "∞" if value is None else f"{value:,.2f}×"


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as '2 h 05 m', '3 m 20 s' or '12 s'."""
    if seconds is None:
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} m"
    if minutes:
        return f"{minutes} m {secs:02d} s"
    return f"{secs} s"
