"""The one set of rules every margin-parameter change passes, whoever proposes it.

Hard rules (all sources): 0 < penalty < mmr < imr ≤ 1, max_leverage ≤ 1/imr, fee share in [0, 1],
per-field bounds from `ParameterRule`. The rules fail closed: a field without a rule row (its market's or
the default) refuses every change until one is added. Steward rules (admin and policy sources): a maximum change
per update per field (absolute and/or relative) and a minimum delay between steward updates of a
market. Larger or earlier changes belong to a governance proposal. One exemption, narrow on purpose: a policy
(automatic) change that only tightens (`parameters_only_tighten`) is not held back by the delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q

from riskgov.core.formatting import plain, rate, size
from riskgov.core.models.versions import ChangeSource
from riskgov.markets.models import PARAMETER_FIELDS, MarginParameters, Market, ParameterRule

STEWARD_SOURCES = (ChangeSource.ADMIN, ChangeSource.POLICY)


@dataclass(frozen=True)
class Violation:
    rule: str
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{where}{self.message} [rule: {self.rule}]"


class GuardrailError(Exception):
    """A change broke one or more rules; nothing was written."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        super().__init__("; ".join(str(v) for v in violations))


def rules_for(market: Market) -> dict[str, ParameterRule]:
    """Effective rule per field: the market's own row, else the default row."""
    rows = ParameterRule.objects.filter(Q(market=market) | Q(market__isnull=True)).order_by("market_id")
    effective: dict[str, ParameterRule] = {}
    for rule in rows:  # default rows (market NULL) sort last on PostgreSQL, first on SQLite: prefer specific
        if rule.field not in effective or rule.market_id is not None:
            effective[rule.field] = rule
    return effective


def _missing_rules(rules: dict[str, ParameterRule]) -> list[Violation]:
    return [
        Violation(
            "rule_missing",
            name,
            "no guardrail rule covers this field (neither for this market nor by default); "
            "a risk admin must add one before any change is accepted",
        )
        for name in PARAMETER_FIELDS
        if name not in rules
    ]


_REQUIRED_FIELDS = ("imr", "mmr", "liquidation_penalty", "max_leverage", "insurance_fee_share")


def _hard_rules(values: dict[str, Decimal | None]) -> list[Violation]:
    imr, mmr, penalty = values["imr"], values["mmr"], values["liquidation_penalty"]
    max_leverage, fee_share = values["max_leverage"], values["insurance_fee_share"]
    if imr is None or mmr is None or penalty is None or max_leverage is None or fee_share is None:
        return [Violation("required", f, "is required") for f in _REQUIRED_FIELDS if values[f] is None]
    return (
        _rate_order(imr=imr, mmr=mmr, penalty=penalty)
        + _leverage_and_fee_share(imr=imr, max_leverage=max_leverage, fee_share=fee_share)
        + _optional_fields(values)
    )


def _rate_order(*, imr: Decimal, mmr: Decimal, penalty: Decimal) -> list[Violation]:
    """0 < penalty < mmr < imr ≤ 1."""
    found: list[Violation] = []
    if not penalty > 0:
        found.append(Violation("rate_order", "liquidation_penalty", "must be greater than 0"))
    if not mmr > penalty:
        found.append(Violation("rate_order", "mmr", f"must exceed the liquidation penalty ({plain(penalty)})"))
    if not imr > mmr:
        found.append(Violation("rate_order", "imr", f"must exceed the maintenance margin rate ({plain(mmr)})"))
    if imr > 1:
        found.append(Violation("rate_order", "imr", "must be at most 1"))
    return found


def _leverage_and_fee_share(*, imr: Decimal, max_leverage: Decimal, fee_share: Decimal) -> list[Violation]:
    """0 < max_leverage ≤ 1/imr and a fee share in [0, 1]."""
    found: list[Violation] = []
    if imr > 0 and max_leverage * imr > 1:
        found.append(
            Violation("max_leverage_vs_imr", "max_leverage", f"must be at most 1/imr = {size(Decimal(1) / imr, 4)}")
        )
    if max_leverage <= 0:
        found.append(Violation("positive", "max_leverage", "must be greater than 0"))
    if not 0 <= fee_share <= 1:
        found.append(Violation("fraction", "insurance_fee_share", "must be between 0 and 1"))
    return found


def _optional_fields(values: dict[str, Decimal | None]) -> list[Violation]:
    """A positive OI cap when set; size-dependent margin as a non-negative base and slope pair."""
    found: list[Violation] = []
    oi_cap = values["oi_cap"]
    if oi_cap is not None and oi_cap <= 0:
        found.append(Violation("positive", "oi_cap", "must be greater than 0 when set"))
    base, slope = values["size_margin_base"], values["size_margin_slope"]
    if (base is None) != (slope is None):
        field = "size_margin_slope" if slope is None else "size_margin_base"
        found.append(Violation("size_margin_pair", field, "size-dependent margin needs both base and slope"))
    for name in ("size_margin_base", "size_margin_slope"):
        value = values[name]
        if value is not None and value < 0:
            found.append(Violation("positive", name, "must not be negative"))
    return found


def field_bounds(name: str, value: Any, min_value: Decimal | None, max_value: Decimal | None) -> list[Violation]:
    """The `field_bounds` rule for one value (None passes: an unset optional field)."""
    found: list[Violation] = []
    if value is None:
        return found
    if min_value is not None and value < min_value:
        found.append(Violation("field_bounds", name, f"{plain(value)} is below the minimum {plain(min_value)}"))
    if max_value is not None and value > max_value:
        found.append(Violation("field_bounds", name, f"{plain(value)} is above the maximum {plain(max_value)}"))
    return found


def max_change_per_update(
    name: str, old: Any, new: Any, max_abs_change: Decimal | None, max_rel_change: Decimal | None
) -> list[Violation]:
    """The steward's `max_change_per_update` rule for one field (absolute and/or relative to the old value)."""
    if old == new:
        return []
    if old is None or new is None:
        return [Violation("max_change_per_update", name, "adding or removing it needs a governance proposal")]
    old, new = Decimal(old), Decimal(new)
    delta = abs(new - old)
    found = []
    if max_abs_change is not None and delta > max_abs_change:
        found.append(
            Violation(
                "max_change_per_update",
                name,
                f"change of {plain(delta)} exceeds the steward limit of "
                f"{plain(max_abs_change)} per update; larger changes need a governance proposal",
            )
        )
    if max_rel_change is not None and old != 0 and delta / abs(old) > max_rel_change:
        found.append(
            Violation(
                "max_change_per_update",
                name,
                f"change of {rate(delta / abs(old))} exceeds the steward limit of "
                f"{rate(max_rel_change)} per update; larger changes need a governance proposal",
            )
        )
    return found


def steward_min_delay(*, market: Market, last: datetime | None, now: datetime, what: str) -> list[Violation]:
    """The `steward_min_delay` rule: `last` is the market's previous steward change of `what`, or None."""
    delay = timedelta(hours=market.steward_min_delay_hours)
    if last is None or now - last >= delay:
        return []
    return [
        Violation(
            "steward_min_delay",
            None,
            f"the last {what} of {market.symbol} was at {last:%Y-%m-%d %H:%M} UTC; the next is allowed "
            f"from {last + delay:%Y-%m-%d %H:%M} UTC (minimum delay {market.steward_min_delay_hours} h); "
            "earlier changes need a governance proposal",
        )
    ]


def _bounds(values: dict[str, Decimal | None], rules: dict[str, ParameterRule]) -> list[Violation]:
    found = []
    for name, rule in rules.items():
        found += field_bounds(name, values.get(name), rule.min_value, rule.max_value)
    return found


def _steward_limits(
    current: MarginParameters, proposed: dict[str, Decimal | None], rules: dict[str, ParameterRule]
) -> list[Violation]:
    found = []
    for name in PARAMETER_FIELDS:
        rule = rules.get(name)
        if rule is not None:
            found += max_change_per_update(
                name, getattr(current, name), proposed[name], rule.max_abs_change, rule.max_rel_change
            )
    return found


def _steward_delay(market: Market, now: datetime) -> list[Violation]:
    last = (
        MarginParameters.objects.filter(market=market, source__in=STEWARD_SOURCES)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return steward_min_delay(market=market, last=last, now=now, what="steward update")


# Direction in which each field reduces risk: +1 a higher value is safer, −1 a lower value is safer.
_TIGHTER_WHEN = {"imr": 1, "mmr": 1, "liquidation_penalty": 1, "max_leverage": -1, "oi_cap": -1}


def parameters_only_tighten(current: MarginParameters, proposed: dict[str, Decimal | None]) -> bool:
    """True when `proposed` differs from `current` only by tightening: imr/mmr up, max_leverage down, oi_cap
    down (or newly set), penalty unchanged or up, and every other field unchanged."""
    changed = False
    for name in PARAMETER_FIELDS:
        old, new = getattr(current, name), proposed[name]
        if old == new:
            continue
        direction = _TIGHTER_WHEN.get(name)
        if direction is None or new is None:
            return False  # another field changed, or a limit was removed
        if old is not None and (new - old) * direction < 0:
            return False
        changed = True
    return changed


def guardrails_check(
    *,
    market: Market,
    current: MarginParameters | None,
    proposed: dict[str, Decimal | None],
    source: str,
    now: datetime,
) -> None:
    """Raise GuardrailError listing every rule `proposed` breaks for `source`; return None when it passes."""
    rules = rules_for(market)
    violations = _missing_rules(rules) + _hard_rules(proposed) + _bounds(proposed, rules)
    if current is not None:
        if all(getattr(current, f) == proposed[f] for f in PARAMETER_FIELDS):
            violations.append(Violation("no_change", None, "the new values equal the current version"))
        elif source in STEWARD_SOURCES:
            violations += _steward_limits(current, proposed, rules)
            # a risk-reducing change from the policy is never held back by the delay; loosening always is
            if not (source == ChangeSource.POLICY and parameters_only_tighten(current, proposed)):
                violations += _steward_delay(market, now)
    if violations:
        raise GuardrailError(violations)
