"""A synthetic but realistic position book for the engine benchmark."""

from __future__ import annotations

import numpy as np

from insurance.engine import MarketSpec, Portfolio


def synthetic_book(n_positions: int, n_markets: int, seed: int = 0) -> tuple[Portfolio, list[MarketSpec]]:
    """Longs and shorts at 1–25× leverage entered within a few % of today's price, all healthy today.

    Notional per position is log-normal (median ≈ 8 000 quote); market depth is ten times the
    market's open interest so that square-root impact stays in the single-digit percent range.
    """
    rng = np.random.default_rng(seed)
    prices = np.exp(rng.uniform(np.log(0.5), np.log(90_000.0), n_markets))
    market = rng.integers(0, n_markets, n_positions)
    notional = rng.lognormal(9.0, 1.5, n_positions)
    entry = prices[market] * np.exp(rng.normal(0.0, 0.04, n_positions))
    side = np.where(rng.random(n_positions) < 0.55, 1.0, -1.0)
    size = side * notional / entry
    today = prices[market]
    # an exchange would already have liquidated anything below maintenance: top such books up
    healthy_floor = 1.5 * 0.02 * np.abs(size) * today - size * (today - entry)
    collateral = np.maximum(notional / rng.uniform(1.0, 25.0, n_positions), healthy_floor)
    open_interest = np.bincount(market, weights=notional, minlength=n_markets)
    markets = [
        MarketSpec(
            symbol=f"M{m:02d}",
            price=float(prices[m]),
            mmr=0.02,
            liquidation_penalty=0.01,
            volatility=float(rng.uniform(0.5, 1.2)),
            depth=float(10.0 * max(open_interest[m], 1.0)),
        )
        for m in range(n_markets)
    ]
    portfolio = Portfolio(market=market, size=size, entry_price=entry, collateral=collateral)
    return portfolio, markets


def market_correlation(n_markets: int, common: float = 0.6) -> np.ndarray:
    """One-factor correlation: every pair of markets at `common`."""
    return np.full((n_markets, n_markets), common) + (1.0 - common) * np.eye(n_markets)
