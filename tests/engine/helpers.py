"""Random books, markets and price paths for the engine tests, driven by one integer seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from insurance.engine import MarketSpec, Portfolio

SYMBOLS = ("ETH", "BTC", "SOL", "ARB")


@dataclass(frozen=True)
class Book:
    """A portfolio with the markets it trades."""

    portfolio: Portfolio
    markets: list[MarketSpec]


def random_book(seed: int, n_positions: int, n_markets: int, *, depth_scale: float = 1.0) -> Book:
    """Mixed longs and shorts at 1–50× leverage, some already liquidatable or underwater today."""
    rng = np.random.default_rng(seed)
    prices = rng.uniform(10.0, 5_000.0, n_markets)
    mmr = rng.uniform(0.005, 0.1, n_markets)
    penalty = mmr * rng.uniform(0.1, 0.9, n_markets)
    market = rng.integers(0, n_markets, n_positions)
    entry = prices[market] * rng.uniform(0.8, 1.2, n_positions)
    notional = rng.lognormal(8.0, 1.5, n_positions)
    quantity = notional / entry
    side = np.where(rng.random(n_positions) < 0.5, 1.0, -1.0)
    collateral = notional / rng.uniform(1.0, 50.0, n_positions)
    book_notional = np.bincount(market, weights=notional, minlength=n_markets)
    depth = np.maximum(book_notional, 1.0) * depth_scale * rng.uniform(0.2, 5.0, n_markets)
    markets = [
        MarketSpec(
            symbol=SYMBOLS[m],
            price=float(prices[m]),
            mmr=float(mmr[m]),
            liquidation_penalty=float(penalty[m]),
            volatility=0.8,
            depth=float(depth[m]),
        )
        for m in range(n_markets)
    ]
    portfolio = Portfolio(market=market, size=side * quantity, entry_price=entry, collateral=collateral)
    return Book(portfolio, markets)


def random_paths(seed: int, book: Book, n_paths: int, steps: int, step_volatility: float = 0.05) -> np.ndarray:
    """Explicit price paths (paths, steps + 1, markets): a random walk in log price with occasional gaps."""
    rng = np.random.default_rng(seed + 7_919)
    today = np.array([market.price for market in book.markets])
    shocks = rng.normal(0.0, step_volatility, (n_paths, steps, len(today)))
    gaps = rng.random((n_paths, steps, len(today))) < 0.1
    shocks += gaps * rng.normal(0.0, 5 * step_volatility, shocks.shape)
    log_paths = np.concatenate([np.zeros((n_paths, 1, len(today))), np.cumsum(shocks, axis=1)], axis=1)
    return today * np.exp(log_paths)
