"""Reads for oracle health: each enabled feed's latest price, classified by riskgov.monitoring.domain.oracle."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from riskgov.markets.models import Market, PriceObservation
from riskgov.monitoring.domain.oracle import FeedQuote, OracleReading, oracle_reading
from riskgov.monitoring.models import PriceFeed


def oracle_readings(markets: Iterable[Market], now: datetime | None = None) -> dict[int, OracleReading]:
    """Reading per market that has enabled feeds (markets without feeds are left out), in one query."""
    now = now or timezone.now()
    latest = PriceObservation.objects.filter(
        market=OuterRef("market"), source=OuterRef("source"), observed_at__lte=now
    ).order_by("-observed_at")
    feeds = (
        PriceFeed.objects.filter(market__in=list(markets), enabled=True)
        .annotate(
            latest_price=Subquery(latest.values("price")[:1]), latest_at=Subquery(latest.values("observed_at")[:1])
        )
        .order_by("market_id", "name")
    )
    quotes: dict[int, list[FeedQuote]] = {}
    for feed in feeds:
        price = feed.latest_price
        quotes.setdefault(feed.market_id, []).append(
            FeedQuote(
                name=feed.name,
                price=None if price is None else float(price),
                observed_at=feed.latest_at,
                heartbeat_seconds=float(feed.heartbeat_seconds),
                deviation_threshold=float(feed.deviation_threshold),
            )
        )
    return {market_id: oracle_reading(found, now) for market_id, found in quotes.items()}


def market_oracle_reading(market: Market, now: datetime | None = None) -> OracleReading | None:
    return oracle_readings([market], now).get(market.pk)
