"""The impact preview's counts equal a loop over positions with the Decimal formulas."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from riskgov.governance.selectors.impact import proposal_impact
from riskgov.governance.tasks import governance_impact_refresh
from riskgov.markets.domain.position_math import position_risk
from tests.factories import MarginParametersFactory, MarketFactory, PositionFactory, PriceObservationFactory
from tests.governance.conftest import make_proposal

pytestmark = pytest.mark.django_db

PRICE = D("3000")
ROWS = [  # size, entry, collateral
    (D("1"), D("3000"), D("600")),  # 5x: healthy everywhere
    (D("1"), D("3050"), D("100")),  # 60x: above the current max leverage, liquidatable at mmr 5 %
    (D("2"), D("3000"), D("200")),  # 30x: liquidatable at mmr 5 %
    (D("-1"), D("2980"), D("150")),  # short 23x: liquidatable at mmr 5 %
    (D("1"), D("3000"), D("250")),  # 12x: only below the 10 % initial margin
    (D("-3"), D("3000"), D("9000")),  # 1x short
]


def test_counts_match_the_decimal_formulas():
    eth = MarketFactory(symbol="ETH")
    MarginParametersFactory(market=eth, imr=D("0.02"), mmr=D("0.01"), max_leverage=D("50"))
    PriceObservationFactory(market=eth, price=PRICE, observed_at=datetime(2024, 1, 1, tzinfo=UTC))
    for size, entry, collateral in ROWS:
        PositionFactory(market=eth, size=size, entry_price=entry, collateral=collateral)
    proposed = {"imr": D("0.1"), "mmr": D("0.05"), "max_leverage": D("10")}

    (impact,) = proposal_impact({"ETH": proposed})["markets"]

    risks = [position_risk(size=s, entry_price=e, collateral=c, price=PRICE, mmr=D("0.01")) for s, e, c in ROWS]

    def count(condition) -> int:
        return sum(1 for risk in risks if condition(risk))

    assert impact["liquidatable"]["current_count"] == count(lambda r: r.equity < D("0.01") * r.notional)
    assert impact["liquidatable"]["proposed_count"] == count(lambda r: r.equity < D("0.05") * r.notional)
    assert impact["below_initial"]["proposed_count"] == count(lambda r: r.equity < D("0.1") * r.notional)
    assert impact["above_max_leverage"]["current_count"] == count(lambda r: r.leverage > 50)
    assert impact["above_max_leverage"]["proposed_count"] == count(lambda r: r.leverage > 10)
    liquidatable = impact["liquidatable"]
    after = [r.notional for r in risks if r.equity < D("0.05") * r.notional]
    assert liquidatable["proposed_notional"] == pytest.approx(float(sum(after)))
    assert liquidatable["new_count"] == count(lambda r: D("0.01") * r.notional <= r.equity < D("0.05") * r.notional)
    assert liquidatable["new_count"] > 0 and impact["below_initial"]["proposed_count"] > liquidatable["proposed_count"]


def test_the_refresh_task_recomputes_the_stored_preview_against_todays_positions(chain, holders, market, gov_settings):
    proposal = make_proposal(chain, holders[0], mmr="0.035")
    (before,) = proposal.impact["markets"]
    assert before["liquidatable"]["proposed_count"] == 0
    # margin ratio 100 / 3000 = 3.3 %: safe at the current 3 % maintenance margin, liquidatable at 3.5 %
    PositionFactory(market=market, size=D("1"), entry_price=PRICE, collateral=D("100"))

    governance_impact_refresh.apply(kwargs={"proposal_id": proposal.pk}).get()
    proposal.refresh_from_db()
    (after,) = proposal.impact["markets"]
    assert (after["liquidatable"]["current_count"], after["liquidatable"]["new_count"]) == (0, 1)

    governance_impact_refresh.apply(kwargs={"proposal_id": proposal.pk}).get()  # again: the same preview
    proposal.refresh_from_db()
    assert proposal.impact["markets"] == [after]
