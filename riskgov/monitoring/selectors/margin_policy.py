"""Reads for the margin policy: policies in force, hourly price series, recommendations, backtest inputs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
from django.db import connection
from django.db.models import QuerySet
from numpy.typing import NDArray

from riskgov.core.models import AuditAction, AuditRecord
from riskgov.markets.models import MarginParameters, Market, PriceObservation
from riskgov.monitoring.domain.margin_policy import (
    HOURS_PER_YEAR,
    BacktestResult,
    FloatArray,
    PolicyCoefficients,
    backtest,
    margin_rates,
    size_adjusted_imr,
)
from riskgov.monitoring.models import MarginPolicy, MarginRecommendation, PolicyKind, PriceFeed, RecommendationStatus

SECONDS_PER_HOUR = 3600.0
BACKTEST_WARMUP_HOURS = 168
MIN_BACKTEST_HOURS = 4


@dataclass(frozen=True)
class HourlySeries:
    """One price per hour (geometric mean of the hour's observations), stamped at the end of its hour.

    `hours` are hours since the Unix epoch; prices quote per base.
    """

    hours: FloatArray
    prices: FloatArray

    def __len__(self) -> int:
        return len(self.prices)


def policy_coefficients(policy: MarginPolicy | Mapping[str, Any]) -> PolicyCoefficients:
    """The float coefficients the pure margin formulas take, from a policy row or a dict of its values."""
    values = policy.values() if isinstance(policy, MarginPolicy) else policy
    return PolicyCoefficients(
        volatility_scaled=values["kind"] == PolicyKind.VOLATILITY_SCALED,
        a=float(values["coefficient_a"]),
        b=float(values["coefficient_b"]),
        ewma_lambda=float(values["ewma_lambda"]),
        confidence=float(values["confidence"]),
        horizon_hours=float(values["horizon_hours"]),
        imr_floor=float(values["imr_floor"]),
        imr_cap=float(values["imr_cap"]),
        mmr_ratio=float(values["mmr_ratio"]),
    )


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
    # the table name comes from the model and every value is a query parameter
    sql = (
        f"SELECT market_id, source, CAST({epoch} AS DOUBLE PRECISION), CAST(price AS DOUBLE PRECISION) "  # noqa: S608
        f"FROM {table} WHERE market_id IN ({placeholders}) AND observed_at >= %s AND observed_at <= %s "
        "ORDER BY market_id, observed_at"
    )
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
        keep = np.fromiter(
            ((r[0] not in sources) or ((r[0], r[1]) in allowed) for r in rows), dtype=bool, count=len(rows)
        )
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
    versions = list(
        MarginParameters.objects.filter(market=market)
        .order_by("effective_at", "version")
        .values_list("effective_at", "imr", "mmr")
    )
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


def recommendations_list(
    *, status: str | None = None, market: Market | None = None, limit: int = 100
) -> QuerySet[MarginRecommendation]:
    rows = MarginRecommendation.objects.select_related(
        "market", "policy", "based_on", "applied_version", "coverage_current", "coverage_proposed"
    )
    if status:
        rows = rows.filter(status=status)
    if market is not None:
        rows = rows.filter(market=market)
    return rows.order_by("-computed_at", "-pk")[:limit]


def automatic_parameter_changes(*, since: datetime) -> QuerySet[AuditRecord]:
    """Parameter changes the margin policy applied by itself since `since`, oldest first: what the alert
    channels announce (each audit record's data names the market, version, direction, old and new values)."""
    return AuditRecord.objects.filter(
        action=AuditAction.RECOMMENDATION_APPLIED, data__automatic=True, created_at__gt=since
    ).order_by("created_at", "pk")


def pending_recommendation_count() -> int:
    return MarginRecommendation.objects.filter(status=RecommendationStatus.PENDING).count()


class SizeExample(NamedTuple):
    notional: float
    imr: float
    max_leverage: Decimal


# Position notionals shown above the size add-on base (quote units).
SIZE_EXAMPLE_STEPS = (0.0, 1_000_000.0, 5_000_000.0, 20_000_000.0)


def policy_size_examples(*, policy: MarginPolicy, imr: Decimal | None) -> list[SizeExample]:
    """IMR (a fraction) and max leverage of positions at and above the policy's size add-on base, for the
    base IMR `imr`; empty without an add-on or an IMR."""
    if policy.size_addon_base is None or imr is None:
        return []
    base = float(policy.size_addon_base)
    notionals = base + np.array(SIZE_EXAMPLE_STEPS)
    imrs = size_adjusted_imr(float(imr), notionals, base, float(policy.size_addon_slope or 0))
    return [
        SizeExample(float(n), float(v), margin_rates(float(v), float(policy.mmr_ratio)).max_leverage)
        for n, v in zip(notionals, imrs, strict=True)
    ]


MAX_CHART_POINTS = 600


@dataclass(frozen=True)
class MarketBacktest:
    market: Market
    policy: MarginPolicy | None
    coefficients: PolicyCoefficients
    result: BacktestResult | None
    since: datetime
    until: datetime

    @property
    def breach_rate(self) -> float:
        return self.result.kupiec.breach_rate if self.result else 0.0


def market_backtest(
    *, market: Market, values: dict[str, Any], since: datetime, until: datetime, policy: MarginPolicy | None = None
) -> MarketBacktest:
    """Replay policy `values` (a policy's values(), possibly edited) over the market's stored hourly prices."""
    coefficients = policy_coefficients(values)
    series = hourly_price_series([market.pk], since=since, until=until).get(market.pk)
    result = None
    if series is not None and len(series) >= MIN_BACKTEST_HOURS:
        _, actual_mmr = parameters_in_force(market, series.hours)
        warmup = min(BACKTEST_WARMUP_HOURS, len(series) // 4)
        result = backtest(series.hours, series.prices, coefficients, warmup_hours=warmup, actual_mmr=actual_mmr)
    return MarketBacktest(
        market=market, policy=policy, coefficients=coefficients, result=result, since=since, until=until
    )


def _label(hour: float) -> str:
    return datetime.fromtimestamp(hour * SECONDS_PER_HOUR, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _thin(count: int) -> NDArray[np.int64]:
    if count <= MAX_CHART_POINTS:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, MAX_CHART_POINTS).astype(np.int64))


def _series(values: FloatArray, keep: NDArray[np.int64], scale: float = 100.0) -> list[float | None]:
    return [None if np.isnan(v) else round(float(v) * scale, 4) for v in values[keep]]


def backtest_charts(found: MarketBacktest) -> dict[str, dict[str, Any]]:
    """Chart payloads (static/js/charts.js format; percent values) for the backtest page."""
    result = found.result
    if result is None:
        return {}
    actual_imr, actual_mmr = parameters_in_force(found.market, result.hours)
    keep = _thin(len(result.hours))
    labels = [_label(h) for h in result.hours[keep]]
    margins = {
        "type": "line",
        "labels": labels,
        "format": "pct",
        "stepped": True,
        "datasets": [
            {"label": "Recommended IMR", "data": _series(result.imr, keep), "color": "accent"},
            {"label": "Recommended MMR", "data": _series(result.mmr, keep), "color": "long"},
            {"label": "Actual IMR", "data": _series(actual_imr, keep), "color": "warn"},
            {"label": "Actual MMR", "data": _series(actual_mmr, keep), "color": "short"},
        ],
    }
    volatility = {
        "type": "line",
        "labels": labels,
        "format": "pct",
        "datasets": [
            {"label": "Realised (7 d, annualised)", "data": _series(result.realised_volatility, keep)},
            {"label": "EWMA σ (annualised)", "data": _series(result.sigma_hourly * np.sqrt(HOURS_PER_YEAR), keep)},
        ],
    }
    points = result.point_index
    keep_points = _thin(len(points))
    move = np.abs(result.move)
    moves = {
        "type": "line",
        "labels": [_label(h) for h in result.hours[points][keep_points]],
        "format": "pct",
        "datasets": [
            {"label": "|horizon move|", "data": _series(move, keep_points), "points": True, "color": "accent"},
            {
                "label": "Breach of the recommended MMR",
                "data": [
                    v if b else None
                    for v, b in zip(_series(move, keep_points), result.breach[keep_points], strict=True)
                ],
                "points": True,
                "color": "danger",
            },
            {
                "label": "Recommended MMR",
                "data": _series(result.mmr[points], keep_points),
                "color": "long",
                "stepped": True,
            },
        ],
    }
    return {"margins": margins, "volatility": volatility, "moves": moves}
