"""Fixtures shared by the riskgov tests."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.utils import timezone

from riskgov.core.models.versions import ChangeSource
from riskgov.markets.models import Market
from riskgov.markets.services.parameters import margin_parameters_change
from tests.factories import MarketFactory

GENESIS = {
    "imr": D("0.02"),
    "mmr": D("0.01"),
    "max_leverage": D("50"),
    "liquidation_penalty": D("0.005"),
    "insurance_fee_share": D("0.2"),
    "oi_cap": D("100000000"),
}


@pytest.fixture
def market() -> Market:
    """ETH with genesis parameters set 30 days ago, so the steward delay has passed."""
    market = MarketFactory(symbol="ETH")
    with time_machine.travel(timezone.now() - timedelta(days=30)):
        margin_parameters_change(
            market=market, changes=GENESIS, source=ChangeSource.GENESIS, reason="launch", actor="deployer"
        )
    return market
