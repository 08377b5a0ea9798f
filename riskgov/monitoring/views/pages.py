"""Pages of the margin policy and monitoring: alerts, recommendations, a market's policy and its backtest."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from riskgov.governance.errors import GovernanceError
from riskgov.governance.views.auth import session_address
from riskgov.markets.models import MarginParameters, Market
from riskgov.markets.services.guardrails import GuardrailError
from riskgov.monitoring.domain.margin_policy import margin_rates, size_adjusted_imr
from riskgov.monitoring.models import MarginPolicy, RecommendationStatus
from riskgov.monitoring.selectors.margin_policy import (
    backtest_charts,
    market_backtest,
    policy_history,
    recommendations_list,
)
from riskgov.monitoring.selectors.monitoring import alert_rules, open_alerts, recent_alerts, recent_deliveries
from riskgov.monitoring.selectors.oracle import market_oracle_reading
from riskgov.monitoring.services.recommender import (
    RecommendationError,
    margin_policy_evaluate,
    margin_recommendation_apply,
    margin_recommendation_dismiss,
    margin_recommendation_propose,
    policy_series,
)

BACKTEST_DAYS = (30, 90, 180, 365, 730)
COEFFICIENT_LABELS = {
    "coefficient_a": "a",
    "coefficient_b": "b",
    "ewma_lambda": "EWMA decay",
    "confidence": "Confidence",
    "horizon_hours": "Horizon (h)",
    "imr_floor": "IMR floor",
    "imr_cap": "IMR cap",
    "mmr_ratio": "MMR ratio",
}
EDITABLE_COEFFICIENTS = tuple(COEFFICIENT_LABELS)


@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "riskgov/monitoring/alerts.html",
        {
            "open_alerts": list(open_alerts()),
            "resolved": list(recent_alerts(limit=30)),
            "rules": list(alert_rules()),
            "deliveries": list(recent_deliveries(limit=30)),
        },
    )


@require_GET
def recommendation_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", RecommendationStatus.PENDING)
    if status not in RecommendationStatus.values and status != "all":
        status = RecommendationStatus.PENDING
    rows = list(recommendations_list(status=None if status == "all" else status, limit=100))
    for row in rows:
        current = row.evidence.get("current") or {}
        row.value_rows = [(name, current.get(name), value) for name, value in row.values.items()]  # type: ignore[attr-defined]
    return render(
        request,
        "riskgov/monitoring/recommendations.html",
        {
            "recommendations": rows,
            "status": status,
            "statuses": RecommendationStatus.choices,
        },
    )


@require_GET
def alert_banner(request: HttpRequest) -> HttpResponse:
    """The open-alert banner fragment (loaded by every page after it renders)."""
    return render(request, "riskgov/monitoring/_alert_banner.html")


def _back(request: HttpRequest) -> HttpResponseRedirect:
    target = request.POST.get("next") or reverse("monitoring:recommendations")
    if not target.startswith("/"):
        target = reverse("monitoring:recommendations")
    return HttpResponseRedirect(target)


@staff_member_required
@require_POST
def recommendation_apply(request: HttpRequest, recommendation_id: int) -> HttpResponse:
    try:
        version = margin_recommendation_apply(recommendation_id=recommendation_id, actor=request.user.get_username())
    except GuardrailError as error:
        messages.error(request, f"Not applied: {error}. Turn it into a governance proposal instead.")
    except RecommendationError as error:
        messages.error(request, f"Not applied: {error}.")
    else:
        messages.success(request, f"Applied: {version.market} parameters are now version {version.version}.")
    return _back(request)


@staff_member_required
@require_POST
def recommendation_dismiss(request: HttpRequest, recommendation_id: int) -> HttpResponse:
    try:
        margin_recommendation_dismiss(recommendation_id=recommendation_id, actor=request.user.get_username())
    except RecommendationError as error:
        messages.error(request, f"Not dismissed: {error}.")
    else:
        messages.success(request, "Recommendation dismissed.")
    return _back(request)


@staff_member_required
@require_POST
def recommendation_propose(request: HttpRequest, recommendation_id: int) -> HttpResponse:
    proposer = session_address(request)
    if not proposer:
        messages.error(request, "Sign in with a wallet (or link one to your staff account) to propose.")
        return _back(request)
    try:
        proposal = margin_recommendation_propose(recommendation_id=recommendation_id, proposer=proposer)
    except RecommendationError as error:
        messages.error(request, f"Not proposed: {error}.")
    except GovernanceError as error:  # below the threshold, guardrails, chain unavailable
        messages.error(request, f"Not proposed: {error.message}")
    else:
        messages.success(request, f"Proposal #{proposal.pk} created from the recommendation.")
    return _back(request)


def _policy_or_404(market: Market) -> MarginPolicy | None:
    return MarginPolicy.objects.current_for(market)


@require_GET
def market_policy(request: HttpRequest, symbol: str) -> HttpResponse:
    market = get_object_or_404(Market, symbol__iexact=symbol)
    policy = _policy_or_404(market)
    now = timezone.now()
    parameters = MarginParameters.objects.filter(market=market).order_by("-version").first()
    values: dict[str, Any] = {}
    evidence: dict[str, Any] = {}
    size_examples: list[tuple[float, float, Decimal]] = []
    if policy is not None:
        values, evidence = margin_policy_evaluate(
            market=market, policy=policy, series=policy_series(policy, now=now), now=now
        )
        imr = values.get("imr")
        if policy.size_addon_base is not None and imr is not None:
            base = float(policy.size_addon_base)
            notionals = np.array([base, base + 1_000_000, base + 5_000_000, base + 20_000_000])
            imrs = size_adjusted_imr(float(imr), notionals, base, float(policy.size_addon_slope or 0))
            size_examples = [
                (float(n), float(v), margin_rates(float(v), float(policy.mmr_ratio)).max_leverage)
                for n, v in zip(notionals, imrs, strict=True)
            ]
    return render(
        request,
        "riskgov/monitoring/policy.html",
        {
            "market": market,
            "policy": policy,
            "parameters": parameters,
            "values": values,
            "evidence": evidence,
            "size_examples": size_examples,
            "history": list(policy_history(market)[:20]),
            "oracle": market_oracle_reading(market, now),
            "recommendations": list(recommendations_list(market=market, limit=10)),
        },
    )


def _what_if(request: HttpRequest, policy: MarginPolicy) -> tuple[dict[str, Any], list[str]]:
    """The policy's values with coefficients edited in the query string (a proposed policy)."""
    values = policy.values()
    errors = []
    for name in EDITABLE_COEFFICIENTS:
        raw = request.GET.get(name, "").strip()
        if not raw:
            continue
        try:
            values[name] = int(raw) if name == "horizon_hours" else Decimal(raw)
        except (InvalidOperation, ValueError):
            errors.append(f"{name}: {raw!r} is not a number")
    if request.GET.get("kind") in ("static", "volatility_scaled"):
        values["kind"] = request.GET["kind"]
    return values, errors


def _plain(value: Any) -> str:
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


@require_GET
def market_backtest_page(request: HttpRequest, symbol: str) -> HttpResponse:
    market = get_object_or_404(Market, symbol__iexact=symbol)
    policy = _policy_or_404(market)
    try:
        days = int(request.GET.get("days", "180"))
    except ValueError:
        days = 180
    days = days if days in BACKTEST_DAYS else 180
    context: dict[str, Any] = {
        "market": market,
        "policy": policy,
        "days": days,
        "day_choices": BACKTEST_DAYS,
        "editable": EDITABLE_COEFFICIENTS,
    }
    if policy is None:
        return render(request, "riskgov/monitoring/backtest.html", context)
    values, errors = _what_if(request, policy)
    now = timezone.now()
    try:
        found = market_backtest(
            market=market, values=values, since=now - timedelta(days=days), until=now, policy=policy
        )
    except ValueError as error:  # coefficients outside their ranges
        errors.append(str(error))
        values = policy.values()
        found = market_backtest(
            market=market, values=values, since=now - timedelta(days=days), until=now, policy=policy
        )
    in_force = policy.values()
    context["coefficient_fields"] = [
        (name, label, _plain(in_force[name]), request.GET.get(name, "")) for name, label in COEFFICIENT_LABELS.items()
    ]
    context.update(
        found=found,
        result=found.result,
        charts=backtest_charts(found),
        values=values,
        errors=errors,
        what_if=any(request.GET.get(n) for n in EDITABLE_COEFFICIENTS),
    )
    return render(request, "riskgov/monitoring/backtest.html", context)
