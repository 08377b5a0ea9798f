"""Reads about markets: mark prices and the parameters in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from riskgov.markets.models import MarginParameters, Market, PriceObservation


@dataclass(frozen=True)
class MarketState:
    market: Market
    mark_price: Decimal | None
    parameters: MarginParameters | None
    mark_observed_at: datetime | None = None
    mark_source: str = ""


def markets_with_marks(at: datetime | None = None) -> QuerySet[Market]:
    """Active markets annotated with `mark_price`, `mark_observed_at` and `mark_source` (the latest
    observation at or before `at`)."""
    at = at or timezone.now()
    latest = PriceObservation.objects.filter(market=OuterRef("pk"), observed_at__lte=at).order_by("-observed_at")
    return Market.objects.filter(is_active=True).annotate(
        mark_price=Subquery(latest.values("price")[:1]),
        mark_observed_at=Subquery(latest.values("observed_at")[:1]),
        mark_source=Subquery(latest.values("source")[:1]),
    )


def market_states(at: datetime | None = None) -> list[MarketState]:
    """Every active market with its mark price and current parameters, in two queries."""
    at = at or timezone.now()
    markets = list(markets_with_marks(at))
    current: dict[int, MarginParameters] = {}
    for params in MarginParameters.objects.effective(at).filter(market__in=markets).order_by("market_id", "version"):
        current[params.market_id] = params  # ascending versions: the last one wins
    return [
        MarketState(m, m.mark_price, current.get(m.pk), m.mark_observed_at, m.mark_source or "")  # type: ignore[attr-defined]
        for m in markets
    ]


@dataclass(frozen=True)
class MarkFreshness:
    """How old a market's mark price is, where it came from, and whether it is stale or has stopped moving.

    `unchanged_since` is the first observation of the run of equal prices that ends at the mark.
    """

    observed_at: datetime | None
    source: str
    unchanged_since: datetime | None
    checked_at: datetime
    stale_after: timedelta
    flat_after: timedelta

    @property
    def age(self) -> timedelta | None:
        return None if self.observed_at is None else self.checked_at - self.observed_at

    @property
    def age_seconds(self) -> float | None:
        age = self.age
        return None if age is None else max(0.0, age.total_seconds())

    @property
    def is_stale(self) -> bool:
        age = self.age
        return age is None or age > self.stale_after

    @property
    def is_flat(self) -> bool:
        if self.observed_at is None or self.unchanged_since is None or self.unchanged_since >= self.observed_at:
            return False  # a single observation says nothing about movement
        return self.observed_at - self.unchanged_since >= self.flat_after

    @property
    def flagged(self) -> bool:
        return self.is_stale or self.is_flat

    @property
    def flat_seconds(self) -> float | None:
        if self.observed_at is None or self.unchanged_since is None:
            return None
        return (self.observed_at - self.unchanged_since).total_seconds()


def mark_freshness(states: list[MarketState], at: datetime | None = None) -> dict[int, MarkFreshness]:
    """Per market id: the mark's age and source, and since when it has not changed (one query)."""
    at = at or timezone.now()
    stale_after, flat_after = settings.RISKGOV_MARK_STALE_AFTER, settings.RISKGOV_MARK_FLAT_AFTER
    priced = [s for s in states if s.mark_price is not None]
    unchanged: dict[int, datetime | None] = {}
    if priced:
        upto = PriceObservation.objects.filter(market=OuterRef("pk"), observed_at__lte=at)
        last_move = upto.exclude(price=OuterRef("mark_price")).order_by("-observed_at").values("observed_at")[:1]
        since_move = (
            upto.filter(observed_at__gt=OuterRef("last_move_at")).order_by("observed_at").values("observed_at")[:1]
        )
        first_ever = upto.order_by("observed_at").values("observed_at")[:1]
        rows = (
            markets_with_marks(at)
            .filter(pk__in=[s.market.pk for s in priced])
            .annotate(last_move_at=Subquery(last_move))
            .annotate(since_move=Subquery(since_move), first_ever=Subquery(first_ever))
            .values_list("pk", "last_move_at", "since_move", "first_ever")
        )
        for pk, last_move_at, after_move, first in rows:
            unchanged[pk] = after_move if last_move_at is not None else first
    return {
        s.market.pk: MarkFreshness(
            observed_at=s.mark_observed_at,
            source=s.mark_source,
            unchanged_since=unchanged.get(s.market.pk),
            checked_at=at,
            stale_after=stale_after,
            flat_after=flat_after,
        )
        for s in states
    }


def parameter_history(market: Market) -> QuerySet[MarginParameters]:
    return MarginParameters.objects.filter(market=market).order_by("-version")


def price_history(market: Market, since: datetime) -> QuerySet[PriceObservation]:
    return PriceObservation.objects.filter(market=market, observed_at__gte=since).order_by("observed_at")
