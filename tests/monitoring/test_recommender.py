"""The recommender applies inside the steward bounds exactly once, and only records what lies beyond them."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.utils import timezone

from riskgov.core.models import AuditRecord
from riskgov.core.models.versions import ChangeSource
from riskgov.markets.models import MarginParameters
from riskgov.markets.services.guardrails import GuardrailError
from riskgov.monitoring.domain.margin_policy import margin_rates, normal_quantile
from riskgov.monitoring.models import MarginRecommendation, RecommendationStatus
from riskgov.monitoring.services.margin_policy import margin_policy_change
from riskgov.monitoring.services.recommender import RecommendationError, margin_recommendation_apply
from riskgov.monitoring.tasks import recommend_margins
from tests.monitoring.conftest import add_hourly_prices, make_market

pytestmark = pytest.mark.django_db


def expected_rates(sigma_hourly: float):
    # a = 1: the MMR is the 99 % two-sided quantile of the 8 h move, the IMR that over the ratio 0.5
    imr = 1 * normal_quantile(0.99) * sigma_hourly * 8**0.5 / 0.5
    return margin_rates(imr, 0.5)


def test_automatic_update_inside_bounds_applies_exactly_once(auto_market):
    add_hourly_prices(auto_market, sigma_hourly=0.0016)  # IMR ≈ 2.33 %: +17 % against 2 %, inside ±25 %
    rates = expected_rates(0.0016)
    assert (rates.imr, rates.mmr, rates.max_leverage) == (D("0.0234"), D("0.0117"), D("42"))

    first = recommend_margins.apply().get()
    second = recommend_margins.apply().get()

    assert len(first) == 1 and second == []  # the second run finds the policy's values already in force
    versions = list(MarginParameters.objects.filter(market=auto_market).order_by("version"))
    assert [v.version for v in versions] == [1, 2]
    applied = versions[-1]
    assert (applied.imr, applied.mmr, applied.max_leverage, applied.source) == (
        D("0.0234"),
        D("0.0117"),
        D("42"),
        ChangeSource.POLICY,
    )
    assert applied.liquidation_penalty == D("0.005")  # untouched fields carry over
    recommendation = MarginRecommendation.objects.get()
    assert recommendation.status == RecommendationStatus.APPLIED
    assert recommendation.applied_version == applied
    assert recommendation.evidence["sigma_hourly"] == pytest.approx(0.0016, rel=1e-6)
    assert recommendation.evidence["z"] == pytest.approx(2.5758293, rel=1e-6)
    assert recommendation.evidence["returns"] == 303  # λ = 0.97: 303 hours carry all but 1e-4 of the weight
    assert AuditRecord.objects.filter(action="parameters.changed", subject_id=str(applied.pk)).count() == 1


def test_change_outside_bounds_is_recorded_and_changes_nothing(auto_market):
    add_hourly_prices(auto_market, sigma_hourly=0.004)  # IMR ≈ 5.8 %: beyond the steward's +0.02 per update
    recommend_margins.apply().get()
    recommend_margins.apply().get()

    assert MarginParameters.objects.filter(market=auto_market).count() == 1
    recommendation = MarginRecommendation.objects.get()
    assert recommendation.status == RecommendationStatus.PENDING
    assert recommendation.values["imr"] == str(expected_rates(0.004).imr)
    assert recommendation.evidence["within_steward_bounds"] is False
    assert any("imr" in v and "steward limit" in v for v in recommendation.evidence["violations"])
    with pytest.raises(GuardrailError):
        margin_recommendation_apply(recommendation_id=recommendation.pk, actor="alice")
    recommendation.refresh_from_db()
    assert recommendation.status == RecommendationStatus.PENDING
    assert MarginParameters.objects.filter(market=auto_market).count() == 1


def test_manual_policy_records_and_an_admin_applies_within_bounds():
    market = make_market("MANU", automatic=False)
    add_hourly_prices(market, sigma_hourly=0.0016)
    recommend_margins.apply().get()
    recommendation = MarginRecommendation.objects.get()
    assert recommendation.status == RecommendationStatus.PENDING
    assert recommendation.evidence["within_steward_bounds"] is True
    assert MarginParameters.objects.filter(market=market).count() == 1

    version = margin_recommendation_apply(recommendation_id=recommendation.pk, actor="alice")
    assert (version.version, version.source, version.imr) == (2, ChangeSource.ADMIN, D("0.0234"))
    recommendation.refresh_from_db()
    assert recommendation.status == RecommendationStatus.APPLIED and recommendation.decided_by == "alice"
    with pytest.raises(RecommendationError):
        margin_recommendation_apply(recommendation_id=recommendation.pk, actor="alice")


def test_no_recommendation_within_the_rebalance_threshold(auto_market):
    add_hourly_prices(auto_market, sigma_hourly=0.00138)  # IMR ≈ 2.01 %: below the 5 % rebalance threshold
    assert recommend_margins.apply().get() == []
    assert not MarginRecommendation.objects.exists()


def test_a_tightening_is_not_held_by_the_delay_but_a_loosening_is(auto_market):
    add_hourly_prices(auto_market, sigma_hourly=0.0016)
    recommend_margins.apply().get()  # 2 % → 2.34 %: applied
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        add_hourly_prices(auto_market, sigma_hourly=0.003, hours=12, source="pyth")  # wilder prices
        ids = recommend_margins.apply().get()
    tighter = MarginRecommendation.objects.get(pk=ids[0])
    assert tighter.evidence["direction"] == "tighten"
    assert tighter.status == RecommendationStatus.APPLIED, tighter.evidence["violations"]
    assert MarginParameters.objects.filter(market=auto_market).count() == 3
    with time_machine.travel(timezone.now() + timedelta(hours=4)):
        add_hourly_prices(auto_market, sigma_hourly=0.0005, hours=60, source="redstone")  # calmer prices
        ids = recommend_margins.apply().get()
    looser = MarginRecommendation.objects.get(pk=ids[0])
    assert looser.evidence["direction"] == "loosen"
    assert looser.status == RecommendationStatus.PENDING
    assert any("steward_min_delay" in v for v in looser.evidence["violations"])
    assert MarginParameters.objects.filter(market=auto_market).count() == 3


def test_policy_changes_follow_the_steward_bounds(auto_market):
    with pytest.raises(GuardrailError) as error:
        margin_policy_change(
            market=auto_market,
            changes={"coefficient_a": D("1.5")},
            source=ChangeSource.ADMIN,
            reason="wider",
            actor="alice",
        )
    assert {v.rule for v in error.value.violations} == {"max_change_per_update"}
    with pytest.raises(GuardrailError) as error:
        margin_policy_change(
            market=auto_market, changes={"kind": "static"}, source=ChangeSource.ADMIN, reason="static", actor="alice"
        )
    assert {v.rule for v in error.value.violations} == {"kind_change"}
    policy = margin_policy_change(
        market=auto_market,
        changes={"coefficient_a": D("1.2"), "automatic": False},
        source=ChangeSource.ADMIN,
        reason="a bit wider, manual",
        actor="alice",
    )
    assert (policy.version, policy.coefficient_a, policy.automatic) == (2, D("1.2"), False)
    with pytest.raises(GuardrailError) as error:
        margin_policy_change(
            market=auto_market,
            changes={"coefficient_a": D("1.25")},
            source=ChangeSource.ADMIN,
            reason="again",
            actor="alice",
        )
    assert {v.rule for v in error.value.violations} == {"steward_min_delay"}
    governed = margin_policy_change(
        market=auto_market,
        changes={"kind": "static", "coefficient_b": D("0.03")},
        source=ChangeSource.PROPOSAL,
        reason="vote",
        actor="governor",
        proposal_ref="7",
    )
    assert (governed.version, governed.kind, governed.proposal_ref) == (3, "static", "7")
