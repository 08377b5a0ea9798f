"""What a steward may change now, per field: the hard bounds and the per-update limit around the current value."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from riskgov.markets.models import PARAMETER_FIELDS, MarginParameters, Market
from riskgov.markets.services.guardrails import rules_for


@dataclass(frozen=True)
class StewardLimit:
    """`low`/`high`: the values a steward update may set now (None: unbounded on that side); `rule` says why."""

    field: str
    low: Decimal | None
    high: Decimal | None
    rule: str
    missing: bool = False
    note: str = ""

    @property
    def text(self) -> str:
        if self.missing:
            return "no guardrail rule: every change is refused"
        if self.note:
            return self.note
        low = "—" if self.low is None else _plain(self.low)
        high = "—" if self.high is None else _plain(self.high)
        return f"allowed now {low} … {high} ({self.rule})"


PLAIN_DIGITS = 14  # longer plain decimals are shown with 6 significant digits


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if len(text) <= PLAIN_DIGITS else f"{value:.6g}"


def _highest(values: list[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _lowest(values: list[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def steward_limits(market: Market, current: MarginParameters | None) -> dict[str, StewardLimit]:
    """Per field, the range a steward (admin) update of `market` may set from `current`, as `guardrails_check`
    enforces it: the rule's bounds intersected with the maximum absolute and relative change per update.
    Rates are fractions; cross-field rules (imr > mmr > penalty, max leverage ≤ 1/imr) are not folded in."""
    rules = rules_for(market)
    limits: dict[str, StewardLimit] = {}
    for name in PARAMETER_FIELDS:
        rule = rules.get(name)
        if rule is None:
            limits[name] = StewardLimit(name, None, None, "", missing=True)
            continue
        old = getattr(current, name) if current is not None else None
        if current is not None and old is None:
            limits[name] = StewardLimit(name, None, None, "", note="unset: setting it needs a governance proposal")
            continue
        lows: list[Decimal | None] = [rule.min_value]
        highs: list[Decimal | None] = [rule.max_value]
        parts = []
        if rule.min_value is not None or rule.max_value is not None:
            parts.append("bounds")
        if old is not None and rule.max_abs_change is not None:
            lows.append(old - rule.max_abs_change)
            highs.append(old + rule.max_abs_change)
            parts.append(f"±{_plain(rule.max_abs_change)} per update")
        if old is not None and rule.max_rel_change is not None:
            lows.append(old - abs(old) * rule.max_rel_change)
            highs.append(old + abs(old) * rule.max_rel_change)
            parts.append(f"±{rule.max_rel_change * 100:.4g} % per update")
        limits[name] = StewardLimit(name, _highest(lows), _lowest(highs), ", ".join(parts) or "no limit per update")
    return limits
