"""Margin recommendations: compute each market's parameters from its policy, apply inside the bounds or record.

Automation is asymmetric. An automatic policy applies a change that only tightens (imr/mmr up, max leverage
and OI cap down) inside the steward bounds at any time. It applies a loosening only when the policy's own
backtest over the last LOOSEN_BACKTEST_DAYS is not rejected (Kupiec POF / Christoffersen independence at
`MARGIN_LOOSEN_BACKTEST_LEVEL`, default 5 %), the market is under its OI cap, and the change is inside the
steward bounds; otherwise the recommendation stays pending with the reasons in `evidence["held_back"]`.
Each recommendation carries its impact on today's positions (`evidence["impact"]`), and a pending one a
paired what-if coverage preview (started by the workers on commit); pending ones are superseded when the
parameters they were computed from change.

A computation is identified by the SHA-256 of its inputs (market, policy version, parameter version,
last hour of prices, number of returns) and its result; the fingerprint is unique, so running the
recommender twice for the same data neither records nor applies anything twice.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from riskgov.core import dispatch
from riskgov.core.models import AuditAction
from riskgov.core.models.versions import ChangeSource
from riskgov.core.services.audit import audit_record, decimal_text
from riskgov.core.templatetags.riskgov_format import p_value as p_value_text
from riskgov.governance.selectors.impact import proposal_impact
from riskgov.governance.services.proposals import ChangeInput, proposal_create
from riskgov.markets.models import MarginParameters, Market, ParameterChangeRequest
from riskgov.markets.selectors.markets import MarketState, market_states
from riskgov.markets.services.guardrails import GuardrailError, guardrails_check, parameters_only_tighten
from riskgov.markets.services.parameters import margin_parameters_change
from riskgov.markets.services.risk_budget import parameter_change_request, risk_budget_applies
from riskgov.monitoring.domain.margin_policy import (
    HOURS_PER_YEAR,
    backtest_rejected,
    estimate_volatility,
    ewma_lookback_hours,
    initial_margin_rate,
    margin_rates,
    oi_cap_from_depth,
)
from riskgov.monitoring.models import MarginPolicy, MarginRecommendation, RecommendationStatus
from riskgov.monitoring.selectors.margin_policy import (
    HourlySeries,
    current_policies,
    hourly_price_series,
    market_backtest,
    policy_coefficients,
)
from riskgov.monitoring.selectors.monitoring import market_risk_figures
from riskgov.monitoring.services.coverage_preview import RECOMMENDATION_PREVIEW_TASK

POLICY_ACTOR = "margin-policy"
MAX_LOOKBACK_HOURS = 24 * 365
LOOSEN_BACKTEST_DAYS = 180  # history a loosening's backtest replays
DEFAULT_LOOSEN_BACKTEST_LEVEL = 0.05  # significance at which a rejected backtest holds a loosening back


class RecommendationError(Exception):
    """A recommendation cannot be applied, dismissed or proposed in its current state."""


@dataclass(frozen=True)
class Computation:
    values: dict[str, Decimal | None]
    evidence: dict[str, Any]
    fingerprint: str


def lookback_hours(policy: MarginPolicy) -> int:
    """Hours of prices a recommendation reads: enough that older returns weigh less than the tolerance."""
    return min(MAX_LOOKBACK_HOURS, ewma_lookback_hours(float(policy.ewma_lambda)) + 1)


def margin_policy_evaluate(
    *, market: Market, policy: MarginPolicy, series: HourlySeries | None, now: datetime
) -> tuple[dict[str, Decimal | None], dict[str, Any]]:
    """The parameter values `policy` gives for `series` (hourly prices), with the evidence behind them."""
    coefficients = policy_coefficients(policy)
    evidence: dict[str, Any] = {
        "policy_version": policy.version,
        "kind": policy.kind,
        "formula": "IMR = clamp(a·z·σ_h / ratio + b, floor, cap); MMR = ratio·IMR (covers the horizon move "
        "at the confidence when a = 1); max leverage = ⌊1/IMR⌋",
        "a": float(policy.coefficient_a),
        "b": float(policy.coefficient_b),
        "lambda": float(policy.ewma_lambda),
        "confidence": float(policy.confidence),
        "z": coefficients.z,
        "target_rate": coefficients.target_breach_rate,  # the MMR's claim: horizon moves beyond it, per window
        "horizon_hours": policy.horizon_hours,
        "floor": float(policy.imr_floor),
        "cap": float(policy.imr_cap),
        "mmr_ratio": float(policy.mmr_ratio),
    }
    last_hour: float | None = None
    if policy.is_volatility_scaled:
        estimate = (
            None if series is None else estimate_volatility(series.hours, series.prices, coefficients.ewma_lambda)
        )
        if estimate is not None and series is not None:
            sigma_hourly = estimate.sigma_hourly
            last_hour = float(series.hours[-1])
            evidence.update(
                volatility_source="ewma",
                returns=estimate.returns,
                window_hours=estimate.window_hours,
                window_end=datetime.fromtimestamp(last_hour * 3600, tz=now.tzinfo).isoformat(),
            )
        else:
            sigma_hourly = float(market.reference_volatility) / math.sqrt(HOURS_PER_YEAR)
            evidence.update(volatility_source="reference", returns=0, window_hours=0)
        sigma_horizon = sigma_hourly * math.sqrt(policy.horizon_hours)
        evidence.update(
            sigma_hourly=sigma_hourly,
            sigma_annual=sigma_hourly * math.sqrt(HOURS_PER_YEAR),
            sigma_horizon=sigma_horizon,
        )
        raw_imr = float(initial_margin_rate(sigma_hourly, coefficients))
        evidence["unclamped_imr"] = (
            coefficients.a * coefficients.z * sigma_horizon / coefficients.mmr_ratio + coefficients.b
        )
    else:
        raw_imr = float(initial_margin_rate(0.0, coefficients))
        evidence["unclamped_imr"] = coefficients.b
    rates = margin_rates(raw_imr, coefficients.mmr_ratio)
    values: dict[str, Decimal | None] = {"imr": rates.imr, "mmr": rates.mmr, "max_leverage": rates.max_leverage}
    if policy.oi_depth_multiple is not None:
        values["oi_cap"] = oi_cap_from_depth(market.depth, policy.oi_depth_multiple)
        evidence.update(depth=float(market.depth), oi_depth_multiple=float(policy.oi_depth_multiple))
    if policy.size_addon_base is not None:
        evidence.update(
            size_addon_base=float(policy.size_addon_base), size_addon_slope=float(policy.size_addon_slope or 0)
        )
    if policy.size_addon_base is not None:
        values["size_margin_base"] = policy.size_addon_base
        values["size_margin_slope"] = policy.size_addon_slope
    evidence["last_hour"] = last_hour
    return values, evidence


def margin_compute(
    *, market: Market, policy: MarginPolicy, parameters: MarginParameters, series: HourlySeries | None, now: datetime
) -> Computation | None:
    """The parameters `policy` recommends now, or None when they stay within the rebalance threshold."""
    values, evidence = margin_policy_evaluate(market=market, policy=policy, series=series, now=now)
    last_hour = evidence.pop("last_hour")
    evidence["parameters_version"] = parameters.version
    if not _worth_changing(parameters, values, policy.rebalance_threshold):
        return None
    evidence["current"] = {name: decimal_text(getattr(parameters, name)) for name in values}
    evidence["imr_rounded"] = decimal_text(values["imr"])
    inputs = {
        "market": market.pk,
        "policy": policy.pk,
        "parameters": parameters.pk,
        "last_hour": last_hour,
        "returns": evidence["returns"] if policy.is_volatility_scaled else 0,
        "values": {k: decimal_text(v) for k, v in values.items()},
    }
    fingerprint = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return Computation(values=values, evidence=evidence, fingerprint=fingerprint)


def _worth_changing(current: MarginParameters, values: dict[str, Decimal | None], threshold: Decimal) -> bool:
    for name, new in values.items():
        old = getattr(current, name)
        if old == new:
            continue
        if old is None or new is None or name in ("size_margin_base", "size_margin_slope"):
            return True
        if name in ("imr", "oi_cap") and (old == 0 or abs(new - old) / abs(old) >= threshold):
            return True
    return False


def loosen_backtest_level() -> float:
    """Significance level at which a rejected backtest holds an automatic loosening back (setting)."""
    return float(getattr(settings, "MARGIN_LOOSEN_BACKTEST_LEVEL", DEFAULT_LOOSEN_BACKTEST_LEVEL))


def _backtest_evidence(*, market: Market, policy: MarginPolicy, now: datetime) -> dict[str, Any]:
    """The policy's backtest over the last LOOSEN_BACKTEST_DAYS, as evidence (rates are fractions)."""
    since = now - timedelta(days=LOOSEN_BACKTEST_DAYS)
    found = market_backtest(market=market, values=policy.values(), since=since, until=now, policy=policy)
    level = loosen_backtest_level()
    result = found.result
    if result is None or result.kupiec.observations == 0:
        return {"days": LOOSEN_BACKTEST_DAYS, "level": level, "windows": 0, "rejected": None}
    k, ind = result.kupiec, result.independence
    return {
        "days": LOOSEN_BACKTEST_DAYS,
        "level": level,
        "windows": k.observations,
        "breaches": k.breaches,
        "breach_rate": k.breach_rate,
        "target_rate": k.target_rate,
        "kupiec_p": k.p_value,
        "independence_p": ind.p_value,
        "rejected": backtest_rejected(k, ind, level),
    }


def _open_interest_evidence(state: MarketState) -> dict[str, Any]:
    """The market's open interest (quote notional, the larger side) against its OI cap."""
    cap = state.parameters.oi_cap if state.parameters is not None else None
    risk = market_risk_figures([state]).get(state.market.pk)
    if risk is None:
        return {"oi_cap": None if cap is None else float(cap), "open_interest": None, "share": None}
    open_interest = max(risk.oi_long, risk.oi_short)
    share = None if not cap else open_interest / float(cap)
    return {"oi_cap": None if cap is None else float(cap), "open_interest": open_interest, "share": share}


def _loosening_held_back(backtest: dict[str, Any], open_interest: dict[str, Any]) -> list[str]:
    """Why a loosening may not be applied automatically (empty: it may)."""
    reasons = []
    level = backtest["level"]
    if backtest["rejected"] is None:
        reasons.append(
            f"loosening held: no backtest of the policy (not enough hourly prices in {backtest['days']} days)"
        )
    elif backtest["rejected"]:
        reasons.append(
            f"loosening held: the policy's backtest is rejected at {level:.0%} over {backtest['days']} days "
            f"({backtest['breaches']} breaches of {backtest['windows']} windows, {backtest['breach_rate']:.2%} "
            f"against {backtest['target_rate']:.2%}; Kupiec p {p_value_text(backtest['kupiec_p'])}, "
            f"independence p {p_value_text(backtest['independence_p'])})"
        )
    share = open_interest["share"]
    if share is not None and share >= 1:
        reasons.append(f"loosening held: open interest is at {share:.0%} of the OI cap")
    elif open_interest["open_interest"] is None and open_interest["oi_cap"] is not None:
        reasons.append("loosening held: open interest against the OI cap is unknown (no mark price)")
    return reasons


def _impact_evidence(market: Market, values: dict[str, Decimal | None]) -> dict[str, Any]:
    """Positions and notional (quote units at the mark) the values would newly make liquidatable or under-margined."""
    impact = proposal_impact({market.symbol: values})
    if not impact["markets"]:
        return {"priced": False}
    figures = impact["markets"][0]
    return {
        "priced": True,
        "mark_price": figures["mark_price"],
        "positions": figures["positions"],
        "newly_liquidatable": figures["liquidatable"]["new_count"],
        "newly_liquidatable_notional": figures["liquidatable"]["new_notional"],
        "newly_below_initial": figures["below_initial"]["new_count"],
        "newly_below_initial_notional": figures["below_initial"]["new_notional"],
    }


def recommendations_supersede_stale(*, market: Market, parameters: MarginParameters, now: datetime) -> int:
    """Mark pending recommendations computed from an older parameter version than `parameters` superseded."""
    return (
        MarginRecommendation.objects.filter(market=market, status=RecommendationStatus.PENDING)
        .exclude(based_on=parameters)
        .update(status=RecommendationStatus.SUPERSEDED, decided_at=now, decided_by=POLICY_ACTOR)
    )


def margin_recommend(
    *, market: Market, policy: MarginPolicy, series: HourlySeries | None, now: datetime | None = None
) -> MarginRecommendation | None:
    """Compute, record and (automatic policies, see the module docstring) apply one market's parameters.

    Returns the recommendation (an existing one when this computation was already recorded), or None
    when the current parameters are within the policy's rebalance threshold. Never applies outside the
    bounds: a change the guardrails reject stays pending with the violations in its evidence, and a
    loosening the evidence does not support stays pending with the reasons in `held_back`.
    """
    now = now or timezone.now()
    with transaction.atomic():
        Market.objects.select_for_update().filter(pk=market.pk).first()  # one computation per market at a time
        parameters = MarginParameters.objects.filter(market=market).order_by("-version").first()
        if parameters is None:
            return None
        recommendations_supersede_stale(market=market, parameters=parameters, now=now)
        computation = margin_compute(market=market, policy=policy, parameters=parameters, series=series, now=now)
        if computation is None:
            return None
        existing = MarginRecommendation.objects.filter(fingerprint=computation.fingerprint).first()
        if existing is not None:
            return existing
        evidence = dict(computation.evidence)
        proposed = parameters.values() | computation.values
        # automatic changes are checked as what they would be: policy changes; manual ones as an admin's
        source = ChangeSource.POLICY if policy.automatic else ChangeSource.ADMIN
        try:
            guardrails_check(market=market, current=parameters, proposed=proposed, source=source, now=now)
            evidence["within_steward_bounds"] = True
            evidence["violations"] = []
        except GuardrailError as error:
            evidence["within_steward_bounds"] = False
            evidence["violations"] = [str(v) for v in error.violations]
        tightens = parameters_only_tighten(parameters, proposed)
        evidence["direction"] = "tighten" if tightens else "loosen"
        held_back: list[str] = []
        if not tightens:
            state = next((s for s in market_states(now) if s.market.pk == market.pk), None)
            evidence["backtest"] = _backtest_evidence(market=market, policy=policy, now=now)
            evidence["open_interest"] = (
                _open_interest_evidence(state) if state is not None else {"oi_cap": None, "share": None}
            )
            held_back = _loosening_held_back(evidence["backtest"], evidence["open_interest"])
        evidence["held_back"] = held_back
        evidence["impact"] = _impact_evidence(market, computation.values)
        MarginRecommendation.objects.filter(market=market, status=RecommendationStatus.PENDING).update(
            status=RecommendationStatus.SUPERSEDED, decided_at=now, decided_by=POLICY_ACTOR
        )
        recommendation = MarginRecommendation.objects.create(
            market=market,
            policy=policy,
            based_on=parameters,
            computed_at=now,
            fingerprint=computation.fingerprint,
            values={k: decimal_text(v) for k, v in computation.values.items()},
            evidence=evidence,
        )
        audit_record(
            action=AuditAction.RECOMMENDATION_CREATED,
            subject=recommendation,
            actor=POLICY_ACTOR,
            data={"market": market.symbol, "values": recommendation.values, "held_back": held_back},
        )
        automatic = policy.automatic and evidence["within_steward_bounds"] and not held_back
        if automatic and _apply_automatic(
            recommendation, policy=policy, computation=computation, evidence=evidence, now=now
        ):
            return recommendation  # waits for its risk-budget attestation on the workers
        if recommendation.status == RecommendationStatus.PENDING:  # a person decides: show the coverage delta
            recommendation.coverage_requested_at = now
            recommendation.save(update_fields=["coverage_requested_at"])
            dispatch.send_on_commit(RECOMMENDATION_PREVIEW_TASK, recommendation_id=recommendation.pk)
    return recommendation


def _apply_automatic(
    recommendation: MarginRecommendation,
    *,
    policy: MarginPolicy,
    computation: Computation,
    evidence: dict[str, Any],
    now: datetime,
) -> bool:
    """Apply an automatic policy's change; True when it was handed to the workers for its risk-budget
    attestation instead (they apply it only if its paired run stays inside the market's budget)."""
    market = recommendation.market
    if risk_budget_applies(market=market, source=ChangeSource.POLICY):
        try:
            request = parameter_change_request(
                market=market,
                changes=computation.values,
                source=ChangeSource.POLICY,
                actor=POLICY_ACTOR,
                reason=_reason(policy, evidence) + f" (recommendation #{recommendation.pk})",
            )
        except GuardrailError as error:
            recommendation.evidence = evidence | {"violations": [str(v) for v in error.violations]}
            recommendation.save(update_fields=["evidence"])
            return False
        recommendation.evidence = evidence | {"risk_budget_request": request.pk}
        recommendation.save(update_fields=["evidence"])
        return True
    try:
        version = margin_parameters_change(
            market=market,
            changes=computation.values,
            source=ChangeSource.POLICY,
            actor=POLICY_ACTOR,
            reason=_reason(policy, evidence),
        )
    except GuardrailError as error:  # the policy source has the same limits; kept for safety
        recommendation.evidence = evidence | {"violations": [str(v) for v in error.violations]}
        recommendation.save(update_fields=["evidence"])
    else:
        _mark_applied(recommendation, version, actor=POLICY_ACTOR, now=now, automatic=True)
    return False


def _reason(policy: MarginPolicy, evidence: dict[str, Any]) -> str:
    sigma = evidence.get("sigma_annual")
    where = f"σ {sigma:.1%} annualised, " if sigma is not None else ""
    return (
        f"Margin policy v{policy.version} ({policy.get_kind_display()}, automatic {evidence['direction']}): "
        f"{where}z {evidence['z']:.3f}, horizon {policy.horizon_hours} h"
    )


def _mark_applied(
    recommendation: MarginRecommendation,
    version: MarginParameters,
    *,
    actor: str,
    now: datetime,
    automatic: bool = False,
) -> None:
    """Record the application. An automatic one is flagged `notify` in its audit data: the record the
    alert channels pick up (`automatic_parameter_changes`), since no alert rule covers parameter changes."""
    recommendation.status = RecommendationStatus.APPLIED
    recommendation.applied_version = version
    recommendation.decided_by = actor
    recommendation.decided_at = now
    recommendation.save(update_fields=["status", "applied_version", "decided_by", "decided_at"])
    audit_record(
        action=AuditAction.RECOMMENDATION_APPLIED,
        subject=recommendation,
        actor=actor,
        data={
            "market": recommendation.market.symbol,
            "version": version.version,
            "automatic": automatic,
            "notify": automatic,
            "direction": recommendation.evidence.get("direction"),
            "values": recommendation.values,
            "current": recommendation.evidence.get("current"),
            "reason": version.reason,
        },
    )


def policy_series(policy: MarginPolicy, *, now: datetime) -> HourlySeries | None:
    """The hourly prices a recommendation of `policy` reads (None for static policies or no prices)."""
    if not policy.is_volatility_scaled:
        return None
    return hourly_price_series([policy.market_id], since=now - timedelta(hours=lookback_hours(policy)), until=now).get(
        policy.market_id
    )


def margin_recommend_all(*, now: datetime | None = None) -> list[MarginRecommendation]:
    """Run the recommender for every active market with a policy; prices are read in one query."""
    now = now or timezone.now()
    states = [s for s in market_states(now) if s.parameters is not None]
    policies = current_policies(s.market for s in states)
    if not policies:
        return []
    hours = (
        max(lookback_hours(p) for p in policies.values() if p.is_volatility_scaled)
        if any(p.is_volatility_scaled for p in policies.values())
        else 0
    )
    series = (
        hourly_price_series(
            [pk for pk, p in policies.items() if p.is_volatility_scaled], since=now - timedelta(hours=hours), until=now
        )
        if hours
        else {}
    )
    results = []
    for state in states:
        policy = policies.get(state.market.pk)
        if policy is None:
            continue
        found = series.get(state.market.pk)
        if found is not None and policy.is_volatility_scaled:
            keep = found.hours >= found.hours[-1] - lookback_hours(policy)
            found = HourlySeries(hours=found.hours[keep], prices=found.prices[keep])
        recommendation = margin_recommend(market=state.market, policy=policy, series=found, now=now)
        if recommendation is not None:
            results.append(recommendation)
    return results


def _locked_pending(recommendation_id: int) -> MarginRecommendation:
    recommendation = (
        MarginRecommendation.objects.select_for_update().select_related("market", "based_on").get(pk=recommendation_id)
    )
    if recommendation.status != RecommendationStatus.PENDING:
        raise RecommendationError(f"this recommendation is {recommendation.get_status_display().lower()}")
    return recommendation


def _decimal_values(recommendation: MarginRecommendation) -> dict[str, Decimal | None]:
    return {k: None if v is None else Decimal(v) for k, v in recommendation.values.items()}


def margin_recommendation_apply(*, recommendation_id: int, actor: str) -> MarginParameters | ParameterChangeRequest:
    """Apply a pending recommendation as an admin change (inside the steward bounds). Raises GuardrailError.

    A market with a risk budget gets a change request instead, returned awaiting its attestation: the workers
    apply it if its paired run stays inside the budget (the recommendation stays pending until then)."""
    now = timezone.now()
    with transaction.atomic():
        recommendation = _locked_pending(recommendation_id)
        current = MarginParameters.objects.filter(market=recommendation.market).order_by("-version").first()
        if current is None or current.pk != recommendation.based_on_id:
            raise RecommendationError("the parameters changed since this recommendation; wait for a new one")
        reason = (
            f"Applied margin recommendation #{recommendation.pk} "
            f"(policy v{recommendation.evidence.get('policy_version')})"
        )
        if risk_budget_applies(market=recommendation.market, source=ChangeSource.ADMIN):
            request = parameter_change_request(
                market=recommendation.market,
                changes=_decimal_values(recommendation),
                source=ChangeSource.ADMIN,
                actor=actor,
                reason=reason,
            )
            recommendation.evidence = recommendation.evidence | {"risk_budget_request": request.pk}
            recommendation.save(update_fields=["evidence"])
            return request
        version = margin_parameters_change(
            market=recommendation.market,
            changes=_decimal_values(recommendation),
            source=ChangeSource.ADMIN,
            actor=actor,
            reason=reason,
        )
        _mark_applied(recommendation, version, actor=actor, now=now)
        recommendations_supersede_stale(market=recommendation.market, parameters=version, now=now)
    return version


def margin_recommendation_dismiss(*, recommendation_id: int, actor: str) -> MarginRecommendation:
    with transaction.atomic():
        recommendation = _locked_pending(recommendation_id)
        recommendation.status = RecommendationStatus.DISMISSED
        recommendation.decided_by = actor
        recommendation.decided_at = timezone.now()
        recommendation.save(update_fields=["status", "decided_by", "decided_at"])
        audit_record(action=AuditAction.RECOMMENDATION_DISMISSED, subject=recommendation, actor=actor)
    return recommendation


def margin_recommendation_mark_proposed(
    *, recommendation_id: int, actor: str, proposal_ref: str
) -> MarginRecommendation:
    """Record that a governance proposal now carries this recommendation."""
    with transaction.atomic():
        recommendation = _locked_pending(recommendation_id)
        recommendation.status = RecommendationStatus.PROPOSED
        recommendation.proposal_ref = proposal_ref
        recommendation.decided_by = actor
        recommendation.decided_at = timezone.now()
        recommendation.save(update_fields=["status", "proposal_ref", "decided_by", "decided_at"])
        audit_record(
            action=AuditAction.RECOMMENDATION_PROPOSED,
            subject=recommendation,
            actor=actor,
            data={"proposal": proposal_ref},
        )
    return recommendation


def _proposal_description(recommendation: MarginRecommendation) -> str:
    evidence = recommendation.evidence
    rows = [
        f"| {name} | {(evidence.get('current') or {}).get(name) or '—'} | {value} |"
        for name, value in recommendation.values.items()
    ]
    lines = [
        f"The margin policy (v{evidence.get('policy_version')}, {evidence.get('kind')}) of "
        f"{recommendation.market.symbol} recommends new parameters; the change is larger than the stewards may "
        "apply, so it is put to a vote.",
        "",
        "| parameter | current | recommended |",
        "|---|---|---|",
        *rows,
        "",
        f"Evidence (computed {recommendation.computed_at:%Y-%m-%d %H:%M} UTC, recommendation "
        f"#{recommendation.pk}): {evidence.get('formula', '')}",
        "",
    ]
    for key in (
        "sigma_annual",
        "sigma_horizon",
        "z",
        "a",
        "b",
        "horizon_hours",
        "lambda",
        "returns",
        "floor",
        "cap",
        "mmr_ratio",
    ):
        if key in evidence:
            lines.append(f"- {key}: {evidence[key]}")
    for violation in evidence.get("violations", []):
        lines.append(f"- steward bound: {violation}")
    return "\n".join(lines)


def margin_recommendation_propose(*, recommendation_id: int, proposer: str) -> Any:
    """Turn a pending recommendation into a governance proposal carrying its evidence; returns the proposal.

    Raises RecommendationError, or the governance service's ProposalRejected (threshold, guardrails).
    """
    recommendation = MarginRecommendation.objects.select_related("market", "based_on").get(pk=recommendation_id)
    if recommendation.status != RecommendationStatus.PENDING:
        raise RecommendationError(f"this recommendation is {recommendation.get_status_display().lower()}")
    current = recommendation.based_on
    changes = [
        ChangeInput(market=recommendation.market.symbol, field=name, new_value=value)
        for name, value in _decimal_values(recommendation).items()
        if getattr(current, name) != value
    ]
    if not changes:
        raise RecommendationError("the recommended values equal the parameters in force")
    proposal = proposal_create(
        proposer=proposer,
        title=f"{recommendation.market.symbol}: margin parameters from its policy (recommendation "
        f"#{recommendation.pk})",
        description=_proposal_description(recommendation),
        changes=changes,
    )
    margin_recommendation_mark_proposed(
        recommendation_id=recommendation.pk, actor=proposer, proposal_ref=str(proposal.pk)
    )
    return proposal
