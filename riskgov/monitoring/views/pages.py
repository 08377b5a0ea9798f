"""Pages of the margin policy and monitoring: alerts, recommendations, a market's policy and its backtest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from riskgov.core.models import Permission
from riskgov.core.permissions import has_permission, permission_required, safe_next_url
from riskgov.core.ratelimit import rate_limited, user_subject
from riskgov.governance.errors import GovernanceError
from riskgov.governance.views.auth import session_address
from riskgov.markets.models import MarginParameters, Market, ParameterChangeRequest
from riskgov.markets.services.guardrails import GuardrailError
from riskgov.monitoring.forms import (
    BACKTEST_DAYS,
    EDITABLE_COEFFICIENTS,
    AlertReasonForm,
    BacktestForm,
    alert_action_form,
    alert_action_forms,
)
from riskgov.monitoring.models import Alert, MarginPolicy, MarginRecommendation, RecommendationStatus
from riskgov.monitoring.selectors.coverage_preview import recommendation_coverage_preview_state
from riskgov.monitoring.selectors.margin_policy import (
    backtest_charts,
    market_backtest,
    policy_history,
    policy_size_examples,
    recommendations_list,
)
from riskgov.monitoring.selectors.monitoring import alert_rules, open_alerts, recent_alerts, recent_deliveries
from riskgov.monitoring.selectors.oracle import market_oracle_reading
from riskgov.monitoring.services.alert_actions import (
    AlertActionError,
    alert_acknowledge,
    alert_resolve,
    alert_snooze,
)
from riskgov.monitoring.services.coverage_preview import CoveragePreviewError, recommendation_coverage_request
from riskgov.monitoring.services.recommender import (
    RecommendationError,
    margin_policy_evaluate,
    margin_recommendation_apply,
    margin_recommendation_dismiss,
    margin_recommendation_propose,
    policy_series,
)


def _alert_page(
    request: HttpRequest, *, bound: AlertReasonForm | None = None, bound_key: Any = None, status: int = 200
) -> HttpResponse:
    alerts = list(open_alerts())
    if has_permission(request.user, Permission.ACKNOWLEDGE_ALERT):
        alert_action_forms(alerts, bound=bound, bound_key=bound_key)
    return render(
        request,
        "riskgov/monitoring/alerts.html",
        {
            "open_alerts": alerts,
            "resolved": list(recent_alerts(limit=30)),
            "rules": list(alert_rules()),
            "deliveries": list(recent_deliveries(limit=30)),
        },
        status=status,
    )


@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    return _alert_page(request)


ALERT_ACTION_SERVICES: dict[str, Any] = {
    "acknowledge": alert_acknowledge,
    "snooze": alert_snooze,
    "resolve": alert_resolve,
}
ALERT_ACTION_DONE = {"acknowledge": "acknowledged", "snooze": "snoozed", "resolve": "resolved"}


@permission_required(Permission.ACKNOWLEDGE_ALERT)
@require_POST
def alert_action(request: HttpRequest, alert_id: int, action: str) -> HttpResponse:
    """Acknowledge, snooze or resolve one alert; refused input re-renders the page (400) with the field's error."""
    alert = get_object_or_404(Alert, pk=alert_id)
    form = alert_action_form(action, alert.pk, request.POST)
    if not form.is_valid():
        return _alert_page(request, bound=form, bound_key=(action, alert.pk), status=400)
    try:
        ALERT_ACTION_SERVICES[action](alert_id=alert.pk, actor=request.user.get_username(), **form.cleaned_data)
    except AlertActionError as error:
        messages.error(request, f"Not {ALERT_ACTION_DONE[action]}: {error}.")
    else:
        messages.success(request, f"Alert {ALERT_ACTION_DONE[action]}: {alert.summary}")
    return HttpResponseRedirect(reverse("monitoring:alerts"))


@require_GET
def recommendation_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", RecommendationStatus.PENDING)
    if status not in RecommendationStatus.values and status != "all":
        status = RecommendationStatus.PENDING
    rows = list(recommendations_list(status=None if status == "all" else status, limit=100))
    for row in rows:
        current = row.evidence.get("current") or {}
        row.value_rows = [(name, current.get(name), value) for name, value in row.values.items()]  # type: ignore[attr-defined]
        if row.status == RecommendationStatus.PENDING:
            row.coverage_preview = recommendation_coverage_preview_state(row)  # type: ignore[attr-defined]
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
def recommendation_coverage_fragment(request: HttpRequest, recommendation_id: int) -> HttpResponse:
    """Polled by the recommendations page while a recommendation's coverage preview is queued or running."""
    recommendation = get_object_or_404(
        MarginRecommendation.objects.select_related("coverage_current", "coverage_proposed"), pk=recommendation_id
    )
    return render(
        request,
        "riskgov/monitoring/_coverage_preview.html",
        {"rec": recommendation, "preview": recommendation_coverage_preview_state(recommendation)},
    )


@permission_required(Permission.DECIDE_RECOMMENDATION)
@require_POST
@rate_limited("impact_preview", subject=user_subject)
def recommendation_coverage_start(request: HttpRequest, recommendation_id: int) -> HttpResponse:
    try:
        recommendation_coverage_request(recommendation_id=recommendation_id)
    except CoveragePreviewError as error:
        messages.error(request, f"Coverage preview not started: {error}.")
    else:
        messages.success(request, "Coverage preview sent to the workers.")
    return _back(request)


@require_GET
def alert_banner(request: HttpRequest) -> HttpResponse:
    """The open-alert banner fragment (loaded by every page after it renders)."""
    return render(request, "riskgov/monitoring/_alert_banner.html")


def _back(request: HttpRequest) -> HttpResponseRedirect:
    """Back to the posted ``next`` when it stays on this site (never ``//other.host``), else the list."""
    return HttpResponseRedirect(safe_next_url(request, request.POST.get("next"), reverse("monitoring:recommendations")))


@permission_required(Permission.DECIDE_RECOMMENDATION)
@require_POST
def recommendation_apply(request: HttpRequest, recommendation_id: int) -> HttpResponse:
    try:
        version = margin_recommendation_apply(recommendation_id=recommendation_id, actor=request.user.get_username())
    except GuardrailError as error:
        messages.error(request, f"Not applied: {error}. Turn it into a governance proposal instead.")
    except RecommendationError as error:
        messages.error(request, f"Not applied: {error}.")
    else:
        if isinstance(version, ParameterChangeRequest):
            messages.info(request, f"{version.market}: change request #{version.pk} waits for its risk-budget "
                          "attestation; the workers apply it if its paired run stays inside the budget.")  # fmt: skip
        else:
            messages.success(request, f"Applied: {version.market} parameters are now version {version.version}.")
    return _back(request)


@permission_required(Permission.DECIDE_RECOMMENDATION)
@require_POST
def recommendation_dismiss(request: HttpRequest, recommendation_id: int) -> HttpResponse:
    try:
        margin_recommendation_dismiss(recommendation_id=recommendation_id, actor=request.user.get_username())
    except RecommendationError as error:
        messages.error(request, f"Not dismissed: {error}.")
    else:
        messages.success(request, "Recommendation dismissed.")
    return _back(request)


@permission_required(Permission.DECIDE_RECOMMENDATION)
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


@require_GET
def market_policy(request: HttpRequest, symbol: str) -> HttpResponse:
    market = get_object_or_404(Market, symbol__iexact=symbol)
    policy = MarginPolicy.objects.current_for(market)
    now = timezone.now()
    values: dict[str, Any] = {}
    evidence: dict[str, Any] = {}
    if policy is not None:
        values, evidence = margin_policy_evaluate(
            market=market, policy=policy, series=policy_series(policy, now=now), now=now
        )
    return render(
        request,
        "riskgov/monitoring/policy.html",
        {
            "market": market,
            "policy": policy,
            "parameters": MarginParameters.objects.filter(market=market).order_by("-version").first(),
            "values": values,
            "evidence": evidence,
            "size_examples": [] if policy is None else policy_size_examples(policy=policy, imr=values.get("imr")),
            "history": list(policy_history(market)[:20]),
            "oracle": market_oracle_reading(market, now),
            "recommendations": list(recommendations_list(market=market, limit=10)),
        },
    )


@require_GET
def market_backtest_page(request: HttpRequest, symbol: str) -> HttpResponse:
    """The policy in force, or the coefficients entered (a what-if), replayed over the market's prices.

    Input that no policy could take answers 400 with one message per field, above the policy's own backtest.
    """
    market = get_object_or_404(Market, symbol__iexact=symbol)
    policy = MarginPolicy.objects.current_for(market)
    form = BacktestForm(request.GET, policy=policy)
    context: dict[str, Any] = {
        "market": market,
        "policy": policy,
        "days": form.period_days,
        "day_choices": BACKTEST_DAYS,
        "editable": EDITABLE_COEFFICIENTS,
        "form": form,
    }
    if policy is None:
        return render(request, "riskgov/monitoring/backtest.html", context)
    values = policy.values() | form.changes()
    now = timezone.now()
    found = market_backtest(
        market=market, values=values, since=now - timedelta(days=form.period_days), until=now, policy=policy
    )
    context.update(
        coefficient_fields=form.coefficient_rows(),
        found=found,
        result=found.result,
        charts=backtest_charts(found),
        values=values,
        errors=form.error_messages(),
        what_if=bool(form.changes()),
    )
    return render(request, "riskgov/monitoring/backtest.html", context, status=200 if form.is_valid() else 400)
