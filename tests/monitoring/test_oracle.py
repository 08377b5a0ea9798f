"""Reference price: median of healthy feeds; stale and deviating feeds flagged and left out."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from riskgov.monitoring.domain.oracle import FeedQuote, FeedStatus, oracle_reading
from riskgov.monitoring.models import PriceFeed
from riskgov.monitoring.selectors.oracle import market_oracle_reading
from tests.factories import MarketFactory, PriceObservationFactory

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def quote(name, price, age_seconds, heartbeat=60, threshold=0.02):
    observed = None if age_seconds is None else NOW - timedelta(seconds=age_seconds)
    return FeedQuote(name, price, observed, heartbeat, threshold)


def test_median_of_healthy_feeds():
    reading = oracle_reading([quote("a", 100.0, 5), quote("b", 101.0, 10), quote("c", 100.4, 20)], NOW)
    assert reading.reference_price == 100.4
    assert reading.healthy and reading.flagged == []


def test_even_number_of_feeds_takes_the_midpoint():
    assert oracle_reading([quote("a", 100.0, 5), quote("b", 101.0, 5)], NOW).reference_price == 100.5


def test_stale_feed_is_flagged_and_left_out():
    reading = oracle_reading([quote("a", 100.0, 5), quote("b", 101.0, 5), quote("c", 90.0, 61)], NOW)
    assert reading.reference_price == 100.5
    assert [(f.name, f.status) for f in reading.flagged] == [("c", FeedStatus.STALE)]
    assert not reading.healthy


def test_deviating_feed_is_flagged_and_left_out():
    # median of fresh feeds 100.2; 103 deviates by 2.8 % > 2 %
    reading = oracle_reading([quote("a", 100.0, 5), quote("b", 100.2, 5), quote("c", 103.0, 5)], NOW)
    assert reading.fresh_median == 100.2
    assert [(f.name, f.status) for f in reading.flagged] == [("c", FeedStatus.DEVIATING)]
    assert reading.feeds[2].deviation == pytest.approx(103 / 100.2 - 1)
    assert reading.reference_price == 100.1


def test_feed_without_prices_is_missing_and_no_healthy_feed_gives_no_price():
    reading = oracle_reading([quote("a", None, None), quote("b", 100.0, 500)], NOW)
    assert [f.status for f in reading.feeds] == [FeedStatus.MISSING, FeedStatus.STALE]
    assert reading.reference_price is None


@pytest.mark.django_db
def test_selector_reads_each_feeds_latest_price():
    market = MarketFactory(symbol="ORC")
    for name, source, heartbeat in (("Chainlink", "chainlink", 3600), ("Pyth", "pyth", 60), ("Off", "off", 60)):
        PriceFeed.objects.create(
            market=market,
            name=name,
            source=source,
            heartbeat_seconds=heartbeat,
            deviation_threshold=D("0.01"),
            enabled=name != "Off",
        )
    PriceObservationFactory(market=market, source="chainlink", price=D("2000"), observed_at=NOW - timedelta(hours=2))
    PriceObservationFactory(market=market, source="chainlink", price=D("2010"), observed_at=NOW - timedelta(minutes=30))
    PriceObservationFactory(market=market, source="pyth", price=D("2012"), observed_at=NOW - timedelta(minutes=5))
    reading = market_oracle_reading(market, NOW)
    assert reading is not None
    assert [(f.name, f.status, f.price) for f in reading.feeds] == [
        ("Chainlink", FeedStatus.OK, 2010.0),
        ("Pyth", FeedStatus.STALE, 2012.0),
    ]
    assert reading.reference_price == 2010.0
