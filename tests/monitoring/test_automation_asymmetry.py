"""Automation is asymmetric, through the recommender task and the pages: a loosening waits for a backtest that
is not rejected and for open interest under the cap; each automatic change is public and announced."""

from datetime import timedelta
from decimal import Decimal as D
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from riskgov.core.models.versions import ChangeSource
from riskgov.markets.models import MarginParameters, Market, PriceObservation
from riskgov.markets.services.parameters import margin_parameters_change
from riskgov.monitoring.models import MarginRecommendation, RecommendationStatus
from riskgov.monitoring.selectors.margin_policy import automatic_parameter_changes
from riskgov.monitoring.tasks import recommend_margins
from tests.factories import PositionFactory
from tests.monitoring.conftest import make_market

pytestmark = pytest.mark.django_db

CALM = 0.00117  # IMR = 2 · 2.5758 · σ · √8 ≈ 1.7 %: a loosening from 2 % inside the steward bounds


def add_random_prices(market: Market, sigma: np.ndarray, seed: int) -> None:
    """Hourly prices ending a minute ago with normal log returns of the given hourly σ (one per hour)."""
    now = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=1)
    rng = np.random.default_rng(seed)
    prices = 2000.0 * np.exp(np.concatenate(([0.0], np.cumsum(rng.normal(0.0, sigma)))))
    count = len(prices)
    PriceObservation.objects.bulk_create(
        PriceObservation(
            market=market, price=D(f"{p:.8f}"), source="chainlink", observed_at=now - timedelta(hours=count - 1 - i)
        )
        for i, p in enumerate(prices)
    )


def auto(symbol: str, ewma_lambda: str = "0.97") -> Market:
    return make_market(
        symbol,
        automatic=True,
        coefficient_a=D("1"),
        horizon_hours=8,
        mmr_ratio=D("0.5"),
        ewma_lambda=D(ewma_lambda),
    )


def test_a_loosening_against_a_rejected_backtest_stays_a_recommendation_with_the_reason(client):
    market = auto("RGM", ewma_lambda="0.99")  # a slow EWMA: it lags each switch by days
    hours = 24 * 178
    # 10-day regimes, 5× the calm σ, then 900 calm hours the EWMA has caught up with
    sigma = np.where((np.arange(hours) // 240) % 2 == 1, 5 * CALM, CALM)
    sigma[-900:] = CALM
    add_random_prices(market, sigma, seed=3)
    ids = recommend_margins.apply().get()
    recommendation = MarginRecommendation.objects.get(pk=ids[0])
    assert recommendation.evidence["direction"] == "loosen"
    assert recommendation.evidence["backtest"]["rejected"] is True, recommendation.evidence["backtest"]
    assert recommendation.status == RecommendationStatus.PENDING
    assert any("backtest is rejected" in reason for reason in recommendation.evidence["held_back"])
    assert MarginParameters.objects.filter(market=market).count() == 1
    page = client.get(reverse("monitoring:recommendations")).content.decode()
    assert "Not applied automatically" in page and "backtest is rejected" in page
    assert "e-" not in page.split("backtest is rejected")[1].split("</li>")[0]  # p-values print readably


def test_a_loosening_with_a_sound_backtest_is_applied_public_and_announced(client):
    market = auto("GBM")
    add_random_prices(market, np.full(24 * 60, CALM), seed=6)
    since = timezone.now()
    ids = recommend_margins.apply().get()
    recommendation = MarginRecommendation.objects.get(pk=ids[0])
    assert recommendation.evidence["direction"] == "loosen"
    assert recommendation.evidence["backtest"]["rejected"] is False, recommendation.evidence["backtest"]
    assert recommendation.status == RecommendationStatus.APPLIED, recommendation.evidence
    applied = recommendation.applied_version
    assert applied is not None and applied.source == ChangeSource.POLICY and applied.imr < D("0.02")
    feed = client.get(reverse("governance:proposal-list")).content.decode()
    assert f"Automatic change (margin policy): GBM v{applied.version}" in feed
    announced = list(automatic_parameter_changes(since=since))
    assert len(announced) == 1 and announced[0].data["direction"] == "loosen"
    assert D(announced[0].data["values"]["imr"]) == applied.imr


def test_a_loosening_waits_while_open_interest_is_over_the_cap():
    market = auto("OICAP")
    add_random_prices(market, np.full(24 * 60, CALM), seed=6)
    PositionFactory(market=market, size=D("60000"), entry_price=D("2000"), collateral=D("20000000"))  # > 100M cap
    ids = recommend_margins.apply().get()
    recommendation = MarginRecommendation.objects.get(pk=ids[0])
    assert recommendation.evidence["open_interest"]["share"] > 1
    assert recommendation.status == RecommendationStatus.PENDING
    assert any("of the OI cap" in reason for reason in recommendation.evidence["held_back"])


def test_each_recommendation_shows_its_impact_and_is_superseded_when_parameters_change(client):
    market = make_market("IMPACT", automatic=False, coefficient_a=D("1"), horizon_hours=8, mmr_ratio=D("0.5"))
    add_random_prices(market, np.full(24 * 30, 0.0016), seed=5)  # IMR ≈ 2.3 %: a tightening
    # equity / notional ≈ 1.1 %: safe at mmr 1 %, liquidatable at the recommended ≈ 1.17 %
    mark = float(PriceObservation.objects.filter(market=market).latest("observed_at").price)
    PositionFactory(market=market, size=D("10"), entry_price=D(f"{mark:.2f}"), collateral=D(f"{mark * 10 * 0.011:.2f}"))
    recommend_margins.apply().get()
    recommendation = MarginRecommendation.objects.get()
    impact = recommendation.evidence["impact"]
    assert recommendation.evidence["direction"] == "tighten"
    assert impact["newly_liquidatable"] == 1
    assert impact["newly_liquidatable_notional"] == pytest.approx(mark * 10, rel=1e-6)
    page = client.get(reverse("monitoring:recommendations")).content.decode()
    assert "Estimated impact on today" in page and "1 newly liquidatable" in page

    margin_parameters_change(
        market=market,
        changes={"liquidation_penalty": D("0.006")},
        source=ChangeSource.PROPOSAL,
        reason="vote",
        actor="g",
    )
    recommend_margins.apply().get()
    recommendation.refresh_from_db()
    assert recommendation.status == RecommendationStatus.SUPERSEDED


def test_policy_and_backtest_pages_state_the_claim_and_both_tests(client):
    market = auto("CLAIM")
    add_random_prices(market, np.full(24 * 40, CALM), seed=2)
    policy_page = client.get(reverse("monitoring:market-policy", args=["CLAIM"])).content.decode()
    assert "What the policy covers" in policy_page and "liquidation horizon of 8 h" in policy_page
    backtest = client.get(reverse("monitoring:market-backtest", args=["CLAIM"]), {"days": 30})
    text = backtest.content.decode()
    assert "What is tested" in text and "Independence p (Christoffersen)" in text
    assert backtest.context["result"].kupiec.target_rate == pytest.approx(0.01)
    out = StringIO()
    call_command("margin_backtest", "CLAIM", "--days", "30", "--set", "coefficient_a=0.3", stdout=out)
    printed = out.getvalue()
    assert "Christoffersen" in printed and "p < 0.001" in printed and "e-" not in printed
