"""Reads about markets: mark prices and the parameters in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from riskgov.markets.models import MarginParameters, Market, PriceObservation


@dataclass(frozen=True)
class MarketState:
    market: Market
    mark_price: Decimal | None
    parameters: MarginParameters | None


def markets_with_marks(at: datetime | None = None) -> QuerySet[Market]:
    """Active markets annotated with `mark_price` (latest observation at or before `at`)."""
    at = at or timezone.now()
    latest = PriceObservation.objects.filter(market=OuterRef("pk"), observed_at__lte=at).order_by("-observed_at")
    return Market.objects.filter(is_active=True).annotate(mark_price=Subquery(latest.values("price")[:1]))


def market_states(at: datetime | None = None) -> list[MarketState]:
    """Every active market with its mark price and current parameters, in two queries."""
    at = at or timezone.now()
    markets = list(markets_with_marks(at))
    current: dict[int, MarginParameters] = {}
    for params in MarginParameters.objects.effective(at).filter(market__in=markets).order_by("market_id", "version"):
        current[params.market_id] = params  # ascending versions: the last one wins
    return [MarketState(m, m.mark_price, current.get(m.pk)) for m in markets]  # type: ignore[attr-defined]


def parameter_history(market: Market) -> QuerySet[MarginParameters]:
    return MarginParameters.objects.filter(market=market).order_by("-version")


def price_history(market: Market, since: datetime) -> QuerySet[PriceObservation]:
    return PriceObservation.objects.filter(market=market, observed_at__gte=since).order_by("observed_at")
