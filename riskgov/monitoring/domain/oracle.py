"""Reference price from several feeds: median of the healthy ones (pure Python).

A feed is **stale** when its latest price is older than its heartbeat (or it has none), and **deviating**
when its price differs from the median of the fresh feeds by more than its threshold (a fraction of that
median, 0.02 = 2 %). Stale and deviating feeds are flagged and left out; the reference price is the median
of the rest. With no healthy feed there is no reference price. Two fresh feeds that disagree by more
than twice their threshold both deviate from their midpoint: neither can be trusted over the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from statistics import median


class FeedStatus(StrEnum):
    OK = "ok"
    STALE = "stale"
    DEVIATING = "deviating"
    MISSING = "missing"


@dataclass(frozen=True)
class FeedQuote:
    """The latest price of one feed (quote per base), with the feed's own health limits."""

    name: str
    price: float | None
    observed_at: datetime | None
    heartbeat_seconds: float
    deviation_threshold: float


@dataclass(frozen=True)
class FeedHealth:
    name: str
    status: FeedStatus
    price: float | None
    age_seconds: float | None
    deviation: float | None  # |price / median − 1| against the median of fresh feeds


@dataclass(frozen=True)
class OracleReading:
    reference_price: float | None
    fresh_median: float | None
    feeds: list[FeedHealth]

    @property
    def healthy(self) -> bool:
        return self.reference_price is not None and all(f.status == FeedStatus.OK for f in self.feeds)

    @property
    def flagged(self) -> list[FeedHealth]:
        return [f for f in self.feeds if f.status != FeedStatus.OK]


def oracle_reading(quotes: list[FeedQuote], now: datetime) -> OracleReading:
    """Classify each feed and take the median of the healthy ones."""
    ages: dict[str, float | None] = {}
    fresh: list[FeedQuote] = []
    for quote in quotes:
        age = None if quote.observed_at is None else (now - quote.observed_at).total_seconds()
        ages[quote.name] = age
        if quote.price is not None and age is not None and age <= quote.heartbeat_seconds:
            fresh.append(quote)
    fresh_median = median(q.price for q in fresh if q.price is not None) if fresh else None
    health: list[FeedHealth] = []
    accepted: list[float] = []
    for quote in quotes:
        age = ages[quote.name]
        if quote.price is None or age is None:
            health.append(FeedHealth(quote.name, FeedStatus.MISSING, None, None, None))
            continue
        deviation = abs(quote.price / fresh_median - 1.0) if fresh_median else None
        if age > quote.heartbeat_seconds:
            status = FeedStatus.STALE
        elif deviation is not None and deviation > quote.deviation_threshold:
            status = FeedStatus.DEVIATING
        else:
            status = FeedStatus.OK
            accepted.append(quote.price)
        health.append(FeedHealth(quote.name, status, quote.price, age, deviation))
    return OracleReading(
        reference_price=median(accepted) if accepted else None, fresh_median=fresh_median, feeds=health
    )
