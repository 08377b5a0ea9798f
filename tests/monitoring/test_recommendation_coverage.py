"""A pending margin recommendation gets a paired what-if coverage preview: sent by the recommender on commit,
frozen once by the task, followed on the recommendations page, and never a baseline."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from insurance.models import CoverageRun, RunPurpose, RunStatus
from insurance.selectors.coverage import run_latest_baseline
from insurance.services import coverage_runs
from insurance.services.coverage_execution import coverage_run_execute_inline
from riskgov.core import dispatch
from riskgov.core.models.versions import ChangeSource
from riskgov.markets.models import Market
from riskgov.monitoring.models import Alert, AlertKind, AlertRule, MarginRecommendation, RecommendationStatus
from riskgov.monitoring.services.margin_policy import margin_policy_change
from riskgov.monitoring.services.monitoring import alerts_evaluate
from riskgov.monitoring.tasks import recommend_margins, recommendation_coverage_preview_start
from tests.insurance.conftest import NOW, build_book
from tests.monitoring.conftest import add_hourly_prices, make_market

PREVIEW_TASK = "riskgov.recommendation_coverage_preview"
VOLATILITY_POLICY: dict[str, Any] = {
    "kind": "volatility_scaled",
    "coefficient_a": D("1"),
    "coefficient_b": D("0"),
    "ewma_lambda": D("0.97"),
    "confidence": D("0.99"),
    "horizon_hours": 8,
    "mmr_ratio": D("0.5"),
}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    captured: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(dispatch, "send", lambda name, **kwargs: captured.append((name, kwargs)))
    return captured


@pytest.mark.django_db
def test_the_recommender_sends_the_preview_for_a_manual_recommendation_only(
    sent: list[tuple[str, dict[str, Any]]], django_capture_on_commit_callbacks: Any
) -> None:
    automatic = make_market("AUTO", automatic=True, **VOLATILITY_POLICY)
    add_hourly_prices(automatic, sigma_hourly=0.0016)  # a tightening inside the bounds: applied by itself
    with django_capture_on_commit_callbacks(execute=True):
        recommend_margins.apply().get()
    assert MarginRecommendation.objects.get().status == RecommendationStatus.APPLIED
    assert sent == []

    manual = make_market("MANU", automatic=False, **VOLATILITY_POLICY)
    add_hourly_prices(manual, sigma_hourly=0.0016)
    with django_capture_on_commit_callbacks(execute=True):
        recommend_margins.apply().get()
    pending = MarginRecommendation.objects.get(market=manual)
    assert pending.status == RecommendationStatus.PENDING and pending.coverage_requested_at is not None
    assert sent == [(PREVIEW_TASK, {"recommendation_id": pending.pk})]


@pytest.mark.django_db
def test_a_refused_preview_records_and_shows_its_reason(client: Any, admin_user: Any) -> None:
    market = make_market("MANU", automatic=False, **VOLATILITY_POLICY)  # no insurance fund exists
    add_hourly_prices(market, sigma_hourly=0.0016)
    recommend_margins.apply().get()
    recommendation = MarginRecommendation.objects.get()
    for _ in range(2):  # a refusal is recorded, never raised; a second delivery changes nothing
        recommendation_coverage_preview_start.apply(kwargs={"recommendation_id": recommendation.pk}).get()
    recommendation.refresh_from_db()
    assert recommendation.coverage_current is None and not CoverageRun.objects.exists()
    assert recommendation.coverage_error.startswith("Coverage preview not started: fund: There is no insurance fund")
    client.force_login(admin_user)
    page = client.get(reverse("monitoring:recommendations")).content.decode()
    assert 'data-state="refused"' in page and "There is no insurance fund yet" in page
    assert reverse("monitoring:recommendation-coverage-start", args=[recommendation.pk]) in page


def _eth_manual_policy() -> Market:
    eth = Market.objects.get(symbol="ETH")
    margin_policy_change(
        market=eth,
        changes={"automatic": False, **VOLATILITY_POLICY},
        source=ChangeSource.GENESIS,
        reason="launch",
        actor="deployer",
    )
    return eth


@pytest.mark.django_db(transaction=True)  # the runs' inputs are written on commit, then simulated inline
def test_the_page_follows_a_what_if_pair_that_opens_no_alert_and_moves_no_headline(
    client: Any, admin_user: Any, sent: list[tuple[str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coverage_runs, "coverage_run_enqueue", lambda *, run_id: 0)  # chunks stay queued
    with time_machine.travel(NOW - timedelta(days=40), tick=False):
        build_book()
        eth = _eth_manual_policy()
    with time_machine.travel(NOW, tick=False):
        recommend_margins.apply().get()
        recommendation = MarginRecommendation.objects.get(market=eth)
        assert recommendation.status == RecommendationStatus.PENDING
        assert (PREVIEW_TASK, {"recommendation_id": recommendation.pk}) in sent
        client.force_login(admin_user)
        fragment_url = reverse("monitoring:recommendation-coverage", args=[recommendation.pk])
        page = client.get(reverse("monitoring:recommendations")).content.decode()
        assert 'data-state="queued"' in page and f'hx-get="{fragment_url}"' in page

        for _ in range(2):  # the worker runs the task; twice changes nothing
            recommendation_coverage_preview_start.apply(kwargs={"recommendation_id": recommendation.pk}).get()
    recommendation.refresh_from_db()
    current, proposed = recommendation.coverage_current, recommendation.coverage_proposed
    assert CoverageRun.objects.count() == 2 and current is not None and proposed is not None
    assert {current.purpose, proposed.purpose} == {RunPurpose.WHAT_IF}
    assert (current.seed, current.paths, current.steps, current.horizon_days, current.book_sha256) == (
        proposed.seed,
        proposed.paths,
        proposed.steps,
        proposed.horizon_days,
        proposed.book_sha256,
    )
    assert current.inputs_sha256 != proposed.inputs_sha256  # the parameters differ, the book does not
    fragment = client.get(fragment_url).content.decode()
    assert 'data-state="running"' in fragment and f'hx-get="{fragment_url}"' in fragment

    for run in (current, proposed):
        assert coverage_run_execute_inline(run=run).status == RunStatus.SUCCEEDED
    fragment = client.get(fragment_url).content.decode()
    assert 'data-state="done"' in fragment and "hx-get" not in fragment
    page = client.get(reverse("monitoring:recommendations")).content.decode()
    for figure in ("Paired difference", "ΔES99", "ΔP(fund exhausted)", "Δcoverage ratio", "Δmean liquidated notional"):
        assert figure in page
    assert "Not a paired comparison" not in page
    for run in (current, proposed):
        assert reverse("insurance:run-detail", args=[run.pk]) in page

    AlertRule.objects.create(name="Coverage", kind=AlertKind.COVERAGE_RATIO_BELOW, threshold=D("1000000"))
    AlertRule.objects.create(name="Exhaustion", kind=AlertKind.EXHAUSTION_ABOVE, threshold=D("0"))
    alerts_evaluate()
    assert not Alert.objects.filter(rule__kind__in=[AlertKind.COVERAGE_RATIO_BELOW, AlertKind.EXHAUSTION_ABOVE])
    assert run_latest_baseline() is None  # what-if runs never become the fund's headline
