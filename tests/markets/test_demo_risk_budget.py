"""The demo's risk budgets: created once on SOL and LINK, edits kept, and a demo reset removes the markets'
waiting changes with their attestations instead of failing on them."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from insurance.models import RiskAttestation
from riskgov.core.models.versions import ChangeSource
from riskgov.demo.services.markets import demo_reset
from riskgov.demo.services.risk_budget import DEMO_BUDGET_RUN, DEMO_BUDGETS, demo_risk_budgets_seed
from riskgov.markets.models import ChangeRequestStatus, Market, ParameterChangeRequest, RiskBudget
from riskgov.markets.services.risk_budget import parameter_change_request
from tests.factories import MarginParametersFactory, MarketFactory

pytestmark = pytest.mark.django_db


def _markets(*symbols: str) -> list[Market]:
    markets = []
    for symbol in symbols:
        market = MarketFactory(symbol=symbol)
        MarginParametersFactory(market=market, imr=D("0.05"), mmr=D("0.025"), max_leverage=D("20"))
        markets.append(market)
    return markets


def test_budgets_are_created_once_on_the_demo_markets_and_edits_are_kept():
    _markets("SOL", "ETH")  # LINK is absent: nothing to budget there

    assert demo_risk_budgets_seed() == ["SOL"]

    sol = RiskBudget.objects.get()
    assert sol.market.symbol == "SOL" and sol.enabled
    assert (sol.max_exhaustion_increase, sol.max_es99_increase) == DEMO_BUDGETS["SOL"]
    assert (sol.confidence, sol.paths, sol.steps, sol.horizon_days) == tuple(DEMO_BUDGET_RUN.values())
    RiskBudget.objects.filter(pk=sol.pk).update(max_es99_increase=D("1"))
    _markets("LINK")
    assert demo_risk_budgets_seed() == ["LINK"]
    assert demo_risk_budgets_seed() == []
    assert RiskBudget.objects.get(market__symbol="SOL").max_es99_increase == D("1")
    assert sorted(RiskBudget.objects.values_list("market__symbol", flat=True)) == ["LINK", "SOL"]


def test_reset_deletes_the_demo_markets_waiting_changes():
    (sol,) = _markets("SOL")
    demo_risk_budgets_seed()
    request = parameter_change_request(
        market=sol, changes={"mmr": D("0.03")}, source=ChangeSource.ADMIN, reason="tighten", actor="steward"
    )
    RiskAttestation.objects.create(
        change_request=request, max_exhaustion_increase=D("0.005"), max_es99_increase=D("1"), confidence=D("0.95"),
        paths=50, seed=1,
    )  # fmt: skip
    assert request.status == ChangeRequestStatus.AWAITING_ATTESTATION

    demo_reset()

    assert not Market.objects.filter(symbol="SOL").exists()
    assert not ParameterChangeRequest.objects.exists() and not RiskAttestation.objects.exists()
    assert not RiskBudget.objects.exists()
