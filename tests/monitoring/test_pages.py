"""Pages: alerts, banner, recommendations (steward apply), a market's policy and its backtest."""

import re
from decimal import Decimal as D

import pytest
from django.urls import reverse

from riskgov.markets.models import MarginParameters
from riskgov.monitoring.models import AlertKind, AlertRule, MarginRecommendation, RecommendationStatus
from riskgov.monitoring.services.monitoring import alerts_evaluate
from riskgov.monitoring.tasks import recommend_margins
from tests.monitoring.conftest import add_hourly_prices, make_market

pytestmark = pytest.mark.django_db


@pytest.fixture
def plain_market():
    market = make_market("PLAIN", automatic=False)
    add_hourly_prices(market, sigma_hourly=0.0016)
    return market


@pytest.fixture
def market():
    market = make_market(
        "PAGE", automatic=False, oi_depth_multiple=D("2"), size_addon_base=D("1000000"), size_addon_slope=D("0.005")
    )
    add_hourly_prices(market, sigma_hourly=0.0016, hours=24 * 20)
    return market


def test_policy_page_shows_the_formulas_with_todays_numbers(client, market):
    response = client.get(reverse("monitoring:market-policy", args=["page"]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "IMR = clamp(a·z·σ<sub>h</sub> / ratio + b, floor, cap)" in text
    assert "2.34 %" in text  # 1 · 2.5758 · 0.0016 · √8 / 0.5 = 2.33 %, rounded up to 2.34 %
    assert "OI cap = multiple · depth" in text


def test_market_page_links_to_its_policy(client, market):
    response = client.get(reverse("riskgov:market-detail", args=["PAGE"]))
    assert reverse("monitoring:market-policy", args=["PAGE"]) in response.content.decode()


def test_backtest_page_reports_kupiec(client, market):
    response = client.get(reverse("monitoring:market-backtest", args=["PAGE"]), {"days": 30})
    assert response.status_code == 200
    assert response.context["result"].kupiec.observations > 0
    assert "Kupiec p-value" in response.content.decode()
    what_if = client.get(reverse("monitoring:market-backtest", args=["PAGE"]), {"days": 30, "coefficient_a": "1"})
    assert what_if.context["values"]["coefficient_a"] == D("1")
    bad = client.get(reverse("monitoring:market-backtest", args=["PAGE"]), {"days": 30, "ewma_lambda": "2"})
    assert bad.status_code == 400 and bad.context["errors"]


def test_staff_applies_a_recommendation_from_the_page(client, admin_user, plain_market):
    market = plain_market
    recommend_margins.apply().get()
    recommendation = MarginRecommendation.objects.get()
    page = client.get(reverse("monitoring:recommendations"))
    assert "Turn into a proposal" not in page.content.decode()  # anonymous visitors only read
    client.force_login(admin_user)
    assert "Apply (steward)" in client.get(reverse("monitoring:recommendations")).content.decode()
    response = client.post(reverse("monitoring:recommendation-apply", args=[recommendation.pk]))
    assert response.status_code == 302
    recommendation.refresh_from_db()
    assert recommendation.status == RecommendationStatus.APPLIED
    assert MarginParameters.objects.filter(market=market).count() == 2


def test_proposal_without_a_wallet_explains_what_is_missing(client, admin_user, plain_market):
    recommend_margins.apply().get()
    recommendation = MarginRecommendation.objects.get()
    client.force_login(admin_user)
    response = client.post(reverse("monitoring:recommendation-propose", args=[recommendation.pk]), follow=True)
    assert "Sign in with a wallet" in response.content.decode()
    recommendation.refresh_from_db()
    assert recommendation.status == RecommendationStatus.PENDING


def test_alert_banner_and_page(client, market):
    assert client.get(reverse("monitoring:alert-banner")).content.strip() == b""
    AlertRule.objects.create(name="Volatility", kind=AlertKind.OI_SHARE_OF_CAP_ABOVE, threshold=D("0.5"))
    AlertRule.objects.create(name="Coverage", kind=AlertKind.COVERAGE_RATIO_BELOW, threshold=D("1"))
    alerts_evaluate()
    page = client.get(reverse("monitoring:alerts"))
    assert page.status_code == 200 and "No open alerts" in page.content.decode()
    dashboard = client.get(reverse("riskgov:dashboard")).content.decode()
    assert reverse("monitoring:alert-banner") in dashboard


def test_margin_backtest_command(market):
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("margin_backtest", "PAGE", "--days", "30", "--set", "coefficient_a=1", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["market"] == "PAGE" and summary["windows"] > 0
    assert 0 <= summary["kupiec_p_value"] <= 1


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ("ewma_lambda=2", "EWMA decay (ewma_lambda)"),
        ("confidence=abc", "Confidence (confidence)"),
        ("kind=quadratic", "Policy kind (kind)"),
        ("size_addon_base=5", "expected FIELD=VALUE"),
    ],
)
def test_margin_backtest_command_checks_overrides_as_the_page_does(market, item, named):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=re.escape(named)):
        call_command("margin_backtest", "PAGE", "--days", "30", "--set", item)
