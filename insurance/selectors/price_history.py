"""Model inputs estimated from stored prices: annualised volatility, correlation and hourly log returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db.models import Max
from numpy.typing import NDArray

from riskgov.markets.models import Market, PriceObservation
from riskgov.markets.selectors.markets import market_states

HOURS_PER_YEAR = 24.0 * 365.0
# fewer hourly returns than this and the estimate is noise: use the market's reference volatility
MIN_RETURNS = 48
MIN_CORRELATED_MARKETS = 2  # a correlation needs two markets whose prices move


@dataclass(frozen=True)
class VolatilityEstimate:
    """Per-market volatility (annualised fraction), where it came from, and the correlation matrix.

    hourly_log_prices: (hours, markets) last log price in each hour of the window, NaN where none.
    """

    window_days: int
    since: datetime
    until: datetime
    volatility: tuple[float, ...]
    volatility_source: tuple[str, ...]
    observations: tuple[int, ...]
    correlation: NDArray[np.float64]
    correlation_source: str
    correlation_observations: int
    hourly_log_prices: NDArray[np.float64]

    def returns_at_lag(self, hours: int) -> NDArray[np.float64]:
        """Non-overlapping log returns over `hours` hours where every market has prices: (rows, markets)."""
        returns = np.diff(self.hourly_log_prices[::hours], axis=0)
        return returns[np.all(np.isfinite(returns), axis=1)]


def newest_price_at(markets: Sequence[Market], at: datetime) -> datetime | None:
    """When the newest stored price of any of `markets` at or before `at` was observed; None without prices."""
    newest: datetime | None = PriceObservation.objects.filter(market__in=list(markets), observed_at__lte=at).aggregate(
        newest=Max("observed_at")
    )["newest"]
    return newest


def hourly_log_price_grid(markets: Sequence[Market], since: datetime, until: datetime) -> NDArray[np.float64]:
    """(hours, markets): the last observed log price in each hour of (since, until], NaN where none.

    Hours are counted back from `until`: the last row is the hour that ends at `until`.
    """
    hours = max(1, int((until - since).total_seconds() // 3600))
    grid = np.full((hours, len(markets)), np.nan)
    column = {market.pk: i for i, market in enumerate(markets)}
    rows = (
        PriceObservation.objects.filter(market__in=list(markets), observed_at__gt=since, observed_at__lte=until)
        .order_by("observed_at")
        .values_list("market_id", "observed_at", "price")
    )
    end = until.timestamp()
    for market_id, observed_at, price in rows.iterator(chunk_size=20_000):
        hour = hours - 1 - int((end - observed_at.timestamp()) // 3600)
        if 0 <= hour < hours:
            grid[hour, column[market_id]] = np.log(float(price))  # ascending time: the last one wins
    return grid


def volatility_estimate(*, markets: Sequence[Market], window_days: int, until: datetime) -> VolatilityEstimate:
    """Annualised volatility and correlation from hourly log returns over `window_days` days up to `until`.

    The window ends at the newest stored price of `markets` at or before `until`, not at `until` itself: two
    runs started seconds apart (with no new price between them) estimate from the same prices. A market with
    fewer than MIN_RETURNS hourly returns falls back to `Market.reference_volatility`; the correlation uses hours
    where every market moved and falls back to independence when they are too few. Returns are between
    consecutive hours that both have a price.
    """
    until = newest_price_at(markets, until) or until
    since = until - timedelta(days=window_days)
    grid = hourly_log_price_grid(markets, since, until)
    returns = np.diff(grid, axis=0)
    volatility, sources, counts = [], [], []
    for index, market in enumerate(markets):
        column = returns[:, index]
        column = column[np.isfinite(column)]
        counts.append(len(column))
        if len(column) >= MIN_RETURNS and float(column.std(ddof=1)) > 0:
            volatility.append(float(column.std(ddof=1) * np.sqrt(HOURS_PER_YEAR)))
            sources.append("history")
        else:
            volatility.append(float(market.reference_volatility))
            sources.append("reference")
    correlation, source, rows = _correlation(returns)
    return VolatilityEstimate(
        window_days=window_days,
        since=since,
        until=until,
        volatility=tuple(volatility),
        volatility_source=tuple(sources),
        observations=tuple(counts),
        correlation=correlation,
        correlation_source=source,
        correlation_observations=rows,
        hourly_log_prices=grid,
    )


def _correlation(returns: NDArray[np.float64]) -> tuple[NDArray[np.float64], str, int]:
    n_markets = returns.shape[1]
    complete = returns[np.all(np.isfinite(returns), axis=1)]
    if n_markets == 1:
        return np.eye(1), "single market", len(complete)
    if len(complete) < MIN_RETURNS:
        return np.eye(n_markets), "independent (too little common history)", len(complete)
    spread = complete.std(axis=0, ddof=1)
    moving = spread > 0
    matrix = np.eye(n_markets)
    if moving.sum() >= MIN_CORRELATED_MARKETS:
        matrix[np.ix_(moving, moving)] = np.corrcoef(complete[:, moving], rowvar=False)
    return _nearest_correlation(matrix), "history", len(complete)


def _nearest_correlation(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """Symmetric, unit diagonal and positive semi-definite (clip negative eigenvalues of a sample estimate)."""
    symmetric = (matrix + matrix.T) / 2
    eigenvalues, eigenvectors = np.linalg.eigh(symmetric)
    if eigenvalues.min() >= 0:
        np.fill_diagonal(symmetric, 1.0)
        return symmetric
    repaired = (eigenvectors * np.clip(eigenvalues, 0.0, None)) @ eigenvectors.T
    scale = np.sqrt(np.diag(repaired))
    repaired = repaired / np.outer(scale, scale)
    np.fill_diagonal(repaired, 1.0)
    return (repaired + repaired.T) / 2


def volatility_preview(*, window_days: int, until: datetime) -> list[dict[str, object]]:
    """Per active market with a mark price and parameters: the volatility a run started now would use."""
    markets = [s.market for s in market_states(until) if s.mark_price is not None and s.parameters is not None]
    if not markets:
        return []
    estimate = volatility_estimate(markets=markets, window_days=window_days, until=until)
    return [
        {
            "symbol": market.symbol,
            "volatility": estimate.volatility[i],
            "source": estimate.volatility_source[i],
            "observations": estimate.observations[i],
        }
        for i, market in enumerate(markets)
    ]
