"""Reads for the margin policy: policies in force, hourly price series, recommendations, backtest inputs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connection
from django.db.models import QuerySet

from riskgov.domain.margin_policy import FloatArray
from riskgov.models import (
    MarginParameters,
    MarginPolicy,
    MarginRecommendation,
    Market,
    PriceFeed,
    PriceObservation,
    RecommendationStatus,
)

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class HourlySeries:
    """One price per hour (geometric mean of the hour's observations), stamped at the end of its hour.

    `hours` are hours since the Unix epoch; prices quote per base.
    """

    hours: FloatArray
    prices: FloatArray

    def __len__(self) -> int:
        return len(self.prices)


def current_policies(markets: Iterable[Market]) -> dict[int, MarginPolicy]:
    """The newest policy version per market, in one query."""
    found: dict[int, MarginPolicy] = {}
    for policy in MarginPolicy.objects.filter(market__in=list(markets)).order_by("market_id", "version"):
        found[policy.market_id] = policy
    return found


def policy_history(market: Market) -> QuerySet[MarginPolicy]:
    return MarginPolicy.objects.filter(market=market).order_by("-version")


def _feed_sources(market_ids: list[int]) -> dict[int, list[str]]:
    sources: dict[int, list[str]] = {}
    for market_id, source in PriceFeed.objects.filter(market_id__in=market_ids, enabled=True).values_list(
        "market_id", "source"
    ):
        sources.setdefault(market_id, []).append(source)
    return sources


def hourly_price_series(market_ids: list[int], *, since: datetime, until: datetime) -> dict[int, HourlySeries]:
    """Hourly series of each market in [since, until], read in one query.

    A market with enabled price feeds uses only their sources; otherwise every source. Several prices in
    one hour are combined by their geometric mean (mean log price).
    """
    if not market_ids:
        return {}
    sources = _feed_sources(market_ids)
    table = PriceObservation._meta.db_table
    epoch = "EXTRACT(EPOCH FROM observed_at)" if connection.vendor == "postgresql" else "strftime('%%s', observed_at)"
    placeholders = ", ".join(["%s"] * len(market_ids))
    sql = (f"SELECT market_id, source, CAST({epoch} AS DOUBLE PRECISION), CAST(price AS DOUBLE PRECISION) "
           f"FROM {table} WHERE market_id IN ({placeholders}) AND observed_at >= %s AND observed_at <= %s "
           "ORDER BY market_id, observed_at")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*market_ids, since, until])
        rows = cursor.fetchall()
    result: dict[int, HourlySeries] = {}
    if not rows:
        return result
    market_col = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    seconds = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    prices = np.fromiter((r[3] for r in rows), dtype=np.float64, count=len(rows))
    keep = np.ones(len(rows), dtype=bool)
    if sources:
        allowed = {(m, s) for m, names in sources.items() for s in names}
        keep = np.fromiter(((r[0] not in sources) or ((r[0], r[1]) in allowed) for r in rows), dtype=bool,
                           count=len(rows))
    market_col, seconds, prices = market_col[keep], seconds[keep], prices[keep]
    starts = np.flatnonzero(np.diff(market_col, prepend=-1))
    stops = np.append(starts[1:], len(market_col))
    for start, stop in zip(starts, stops, strict=True):
        bucket = np.ceil(seconds[start:stop] / SECONDS_PER_HOUR)
        hours, inverse = np.unique(bucket, return_inverse=True)
        log_mean = np.bincount(inverse, weights=np.log(prices[start:stop])) / np.bincount(inverse)
        result[int(market_col[start])] = HourlySeries(hours=hours, prices=np.exp(log_mean))
    return result


def parameters_in_force(market: Market, hours: FloatArray) -> tuple[FloatArray, FloatArray]:
    """IMR and MMR in force at each hour (NaN before the first version), from the version history."""
    versions = list(MarginParameters.objects.filter(market=market).order_by("effective_at", "version")
                    .values_list("effective_at", "imr", "mmr"))
    imr = np.full(len(hours), np.nan)
    mmr = np.full(len(hours), np.nan)
    if not versions:
        return imr, mmr
    starts = np.array([v[0].timestamp() / SECONDS_PER_HOUR for v in versions])
    index = np.searchsorted(starts, hours, side="right") - 1
    known = index >= 0
    imr[known] = np.array([float(v[1]) for v in versions])[index[known]]
    mmr[known] = np.array([float(v[2]) for v in versions])[index[known]]
    return imr, mmr


def recommendations_list(*, status: str | None = None, market: Market | None = None,
                         limit: int = 100) -> QuerySet[MarginRecommendation]:
    rows = MarginRecommendation.objects.select_related("market", "policy", "based_on", "applied_version")
    if status:
        rows = rows.filter(status=status)
    if market is not None:
        rows = rows.filter(market=market)
    return rows.order_by("-computed_at", "-pk")[:limit]


def pending_recommendation_count() -> int:
    return MarginRecommendation.objects.filter(status=RecommendationStatus.PENDING).count()
