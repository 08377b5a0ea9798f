"""The one door for changing a market's margin policy: every change adds a version, atomically, audited.

Hard rules (all sources): 0 < λ < 1, 0.5 < confidence < 1, 0 < floor ≤ cap ≤ 1, 0 < mmr_ratio < 1,
horizon ≥ 1 h, add-on base and slope together, and the ranges in POLICY_BOUNDS. Steward rules (admin
source): a maximum change per field per update, a minimum delay between admin changes of a market
(the market's steward delay), and no change of kind, no switching automatic updates on and no adding
or removing optional parts — those belong to a governance proposal. Switching automatic updates off
is always allowed: it only makes the protocol wait for people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from riskgov.core.models import AuditAction
from riskgov.core.models.versions import ChangeSource
from riskgov.core.services.audit import audit_record, changed_fields
from riskgov.markets.models import Market
from riskgov.markets.services.guardrails import (
    GuardrailError,
    Violation,
    field_bounds,
    max_change_per_update,
    steward_min_delay,
)
from riskgov.monitoring.models import POLICY_FIELDS, MarginPolicy, PolicyKind


@dataclass(frozen=True)
class PolicyBound:
    min_value: Decimal | None
    max_value: Decimal | None
    max_abs_change: Decimal | None = None
    max_rel_change: Decimal | None = None


D = Decimal
POLICY_BOUNDS: dict[str, PolicyBound] = {
    "coefficient_a": PolicyBound(D("0"), D("10"), max_rel_change=D("0.25")),
    "coefficient_b": PolicyBound(D("0"), D("0.5"), max_abs_change=D("0.01")),
    "ewma_lambda": PolicyBound(D("0.8"), D("0.9999"), max_abs_change=D("0.02")),
    "confidence": PolicyBound(D("0.9"), D("0.99999"), max_abs_change=D("0.005")),
    "horizon_hours": PolicyBound(D("1"), D("168"), max_rel_change=D("0.5")),
    "imr_floor": PolicyBound(D("0.001"), D("1"), max_rel_change=D("0.25")),
    "imr_cap": PolicyBound(D("0.01"), D("1"), max_rel_change=D("0.25")),
    "mmr_ratio": PolicyBound(D("0.1"), D("0.95"), max_abs_change=D("0.05")),
    "size_addon_base": PolicyBound(D("0"), None, max_rel_change=D("0.5")),
    "size_addon_slope": PolicyBound(D("0"), D("0.5"), max_abs_change=D("0.01")),
    "oi_depth_multiple": PolicyBound(D("0"), D("1000"), max_rel_change=D("0.25")),
    "rebalance_threshold": PolicyBound(D("0"), D("0.5"), max_abs_change=D("0.05")),
}
OPTIONAL_FIELDS = ("size_addon_base", "size_addon_slope", "oi_depth_multiple")
DEFAULT_POLICY: dict[str, Any] = {
    "kind": PolicyKind.VOLATILITY_SCALED,
    "coefficient_a": D("1"),  # the MMR covers exactly the horizon move at the confidence
    "coefficient_b": D("0"),
    "ewma_lambda": D("0.97"),
    "confidence": D("0.99"),
    "horizon_hours": 8,
    "imr_floor": D("0.01"),
    "imr_cap": D("0.5"),
    "mmr_ratio": D("0.5"),
    "size_addon_base": None,
    "size_addon_slope": None,
    "oi_depth_multiple": None,
    "rebalance_threshold": D("0.05"),
    "automatic": False,
}


def _hard_rules(values: dict[str, Any]) -> list[Violation]:
    found: list[Violation] = []
    if values["kind"] not in PolicyKind.values:
        found.append(Violation("choice", "kind", f"must be one of {', '.join(PolicyKind.values)}"))
    for name, bound in POLICY_BOUNDS.items():
        found += field_bounds(name, values[name], bound.min_value, bound.max_value)
    if values["imr_floor"] > values["imr_cap"]:
        found.append(Violation("floor_cap_order", "imr_floor", "must not exceed the cap"))
    if not D("0") < values["ewma_lambda"] < D("1"):
        found.append(Violation("lambda_range", "ewma_lambda", "must be between 0 and 1"))
    if not D("0.5") < values["confidence"] < D("1"):
        found.append(Violation("confidence_range", "confidence", "must be between 0.5 and 1"))
    if (values["size_addon_base"] is None) != (values["size_addon_slope"] is None):
        found.append(Violation("size_addon_pair", "size_addon_slope", "the size add-on needs both base and slope"))
    return found


def _steward_limits(current: MarginPolicy, proposed: dict[str, Any]) -> list[Violation]:
    found: list[Violation] = []
    if proposed["kind"] != current.kind:
        found.append(Violation("kind_change", "kind", "changing the policy kind needs a governance proposal"))
    if proposed["automatic"] and not current.automatic:
        found.append(
            Violation("automatic_on", "automatic", "switching automatic updates on needs a governance proposal")
        )
    for name, bound in POLICY_BOUNDS.items():
        found += max_change_per_update(
            name, getattr(current, name), proposed[name], bound.max_abs_change, bound.max_rel_change
        )
    return found


def _steward_delay(market: Market, now: datetime) -> list[Violation]:
    last = (
        MarginPolicy.objects.filter(market=market, source=ChangeSource.ADMIN)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return steward_min_delay(market=market, last=last, now=now, what="admin policy change")


def _normalise(changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(POLICY_FIELDS))
    if unknown:
        raise GuardrailError([Violation("unknown_field", name, "is not a policy field") for name in unknown])
    normalised: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "kind":
            normalised[name] = str(value)
        elif name == "automatic":
            normalised[name] = bool(value)
        elif name == "horizon_hours":
            normalised[name] = int(value)
        else:
            normalised[name] = None if value is None else D(str(value))
    return normalised


def margin_policy_check(
    *, market: Market, current: MarginPolicy | None, changes: Mapping[str, Any], source: str, now: datetime
) -> dict[str, Any]:
    """The policy values `changes` lead to; raises GuardrailError listing every rule they break for `source`."""
    proposed = current.values() if current else dict(DEFAULT_POLICY)
    proposed.update(_normalise(changes))
    violations = _hard_rules(proposed)
    if current is not None:
        if all(getattr(current, f) == proposed[f] for f in POLICY_FIELDS):
            violations.append(Violation("no_change", None, "the new values equal the current policy"))
        elif source == ChangeSource.ADMIN:
            violations += _steward_limits(current, proposed) + _steward_delay(market, now)
        elif source in (ChangeSource.POLICY, ChangeSource.GENESIS):
            violations.append(Violation("source", None, f"a policy cannot be changed by source {source!r}"))
    if violations:
        raise GuardrailError(violations)
    return proposed


def margin_policy_change(
    *,
    market: Market,
    changes: Mapping[str, Any],
    source: str,
    reason: str,
    actor: str,
    proposal_ref: str = "",
) -> MarginPolicy:
    """Add the next version of `market`'s margin policy with `changes` applied (rates are fractions).

    The first version starts from DEFAULT_POLICY and passes the hard rules only. Raises GuardrailError,
    naming each broken rule and field, and writes nothing when a rule fails.
    """
    if not reason.strip():
        raise GuardrailError([Violation("reason_required", "reason", "a reason is required")])
    now = timezone.now()
    with transaction.atomic():
        Market.objects.select_for_update().filter(pk=market.pk).first()  # serialise versions per market
        current = MarginPolicy.objects.filter(market=market).order_by("-version").first()
        proposed = margin_policy_check(market=market, current=current, changes=changes, source=source, now=now)
        policy = MarginPolicy.objects.create(
            market=market,
            version=(current.version + 1) if current else 1,
            effective_at=now,
            source=source,
            reason=reason.strip(),
            actor=actor,
            proposal_ref=proposal_ref,
            **proposed,
        )
        audit_record(
            action=AuditAction.MARGIN_POLICY_CHANGED,
            subject=policy,
            actor=actor,
            data={
                "market": market.symbol,
                "version": policy.version,
                "source": source,
                "reason": policy.reason,
                "changes": changed_fields(current, proposed),
            },
        )
    return policy
