"""seed_demo gives every demo market a margin policy and feed, adds the alert rules, and runs them once."""

from io import StringIO

import pytest
from django.core.management import call_command

from riskgov.demo.services.markets import DEMO_SYMBOLS
from riskgov.demo.services.risk import CHAIN_SYMBOLS, DEMO_RULES, demo_risk_seed
from riskgov.demo.services.risk_budget import DEMO_BUDGETS
from riskgov.markets.models import RiskBudget
from riskgov.monitoring.models import AlertRule, MarginPolicy, MarginRecommendation, PriceFeed

pytestmark = pytest.mark.django_db(transaction=True)  # the baseline coverage run reads the inputs its commit wrote


def test_demo_policies_feeds_and_rules_are_created_once_and_evaluated():
    out = StringIO()
    call_command(
        "seed_demo",
        "--seed",
        "2",
        "--positions",
        "300",
        "--days",
        "40",
        "--snapshot-days",
        "0",
        "--no-progress",
        stdout=out,
    )
    assert sorted(RiskBudget.objects.values_list("market__symbol", flat=True)) == sorted(DEMO_BUDGETS)
    assert "Demo risk budgets: changes of LINK (ΔP(fund exhausted) ≤ 0.20%" in out.getvalue()
    assert MarginPolicy.objects.filter(version=1).count() == len(DEMO_SYMBOLS)
    assert PriceFeed.objects.count() == len(DEMO_SYMBOLS) + len(CHAIN_SYMBOLS)
    assert AlertRule.objects.count() == len(DEMO_RULES)
    assert MarginRecommendation.objects.exists()  # the recommender ran over the demo history
    assert demo_risk_seed() is False
    assert MarginPolicy.objects.count() == len(DEMO_SYMBOLS)
