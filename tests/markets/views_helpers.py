"""A small hand-made protocol for the page tests, and a snapshot set over it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from django.utils import timezone

from riskgov.markets.domain.position_math import PositionRisk, position_risk
from riskgov.markets.models import ExposureSnapshot, Market, Position
from riskgov.markets.services.exposure import exposure_snapshot_take
from tests.factories import (
    AccountFactory,
    MarginParametersFactory,
    MarketFactory,
    PositionFactory,
    PriceObservationFactory,
)

ETH_MARK, ETH_MMR = D("3000"), D("0.01")
BTC_MARK, BTC_MMR = D("60000"), D("0.005")

# (market, size, entry, collateral): leverage from under 1x to underwater, both sides, away from band edges.
HAND_MADE = [
    ("ETH", D("1"), D("3000"), D("6000")),  # 0.5x long, never liquidated
    ("ETH", D("2"), D("3000"), D("2000")),  # 3x long
    ("ETH", D("10"), D("2900"), D("3000")),  # 7.5x long, within 20 %
    ("ETH", D("1"), D("3050"), D("230")),  # ~16.7x long, within 10 %
    ("ETH", D("1"), D("3100"), D("140")),  # ~75x long, within 5 %
    ("ETH", D("1"), D("3100"), D("120")),  # 150x long, liquidatable (equity 20 < 30)
    ("ETH", D("1"), D("3300"), D("250")),  # underwater long
    ("ETH", D("-1"), D("3000"), D("1000")),  # 3x short
    ("ETH", D("-3"), D("2950"), D("900")),  # 12x short, within 10 %
    ("ETH", D("-1"), D("2990"), D("60")),  # 60x short, within 5 %
    ("ETH", D("-1"), D("2950"), D("70")),  # 150x short, liquidatable (equity 20 < 30)
    ("BTC", D("0.5"), D("60000"), D("10000")),  # 3x long
    ("BTC", D("0.1"), D("61000"), D("350")),  # 24x long, within 5 %
    ("BTC", D("-0.2"), D("59000"), D("1000")),  # 15x short, within 10 %
    ("BTC", D("-1"), D("58000"), D("1500")),  # underwater short
]


@dataclass(frozen=True)
class Expected:
    position: Position
    risk: PositionRisk


def build_markets() -> tuple[Market, Market]:
    eth, btc = MarketFactory(symbol="ETH", name="Ether"), MarketFactory(symbol="BTC", name="Bitcoin")
    MarginParametersFactory(market=eth, mmr=ETH_MMR)
    MarginParametersFactory(
        market=btc, mmr=BTC_MMR, liquidation_penalty=D("0.002"), imr=D("0.01"), max_leverage=D("100")
    )
    now = timezone.now()
    for market, mark in ((eth, ETH_MARK), (btc, BTC_MARK)):
        PriceObservationFactory(market=market, price=mark * D("0.98"), observed_at=now - timedelta(days=2))
        PriceObservationFactory(market=market, price=mark, observed_at=now - timedelta(minutes=1))
    return eth, btc


def build_hand_made() -> list[Expected]:
    eth, btc = build_markets()
    markets = {"ETH": (eth, ETH_MARK, ETH_MMR), "BTC": (btc, BTC_MARK, BTC_MMR)}
    accounts = [AccountFactory() for _ in range(4)]
    expected = []
    for i, (symbol, size, entry, collateral) in enumerate(HAND_MADE):
        market, mark, mmr = markets[symbol]
        position = PositionFactory(
            market=market,
            account=accounts[i % len(accounts)],
            size=size,
            entry_price=entry,
            collateral=collateral,
            opened_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i),
        )
        risk = position_risk(size=size, entry_price=entry, collateral=collateral, price=mark, mmr=mmr)
        expected.append(Expected(position, risk))
    return expected


def bulk_positions(market: Market, count: int, *, start: int = 0) -> None:
    """`count` open positions with spread-out leverage, written in one statement."""
    account = AccountFactory()
    Position.objects.bulk_create(
        Position(
            external_id=f"bulk-{market.symbol}-{start + i}",
            account=account,
            market=market,
            size=D(1 + i % 7) * (1 if i % 2 else -1),
            entry_price=D("3000") + D(i % 50),
            collateral=D(100 + (i * 37) % 2000),
            opened_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
        )
        for i in range(count)
    )


def take_snapshots(*, count: int = 1) -> list[ExposureSnapshot]:
    """`count` snapshot sets five minutes apart, the last one now."""
    now = timezone.now()
    rows: list[ExposureSnapshot] = []
    for i in reversed(range(count)):
        rows = exposure_snapshot_take(taken_at=now - timedelta(minutes=5 * i))
    return rows
