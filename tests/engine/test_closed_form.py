"""Checks against closed forms and properties that must hold whatever the implementation."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np
import pytest

from insurance.engine import (
    GBM,
    MarketSpec,
    MertonJump,
    Portfolio,
    PriceModel,
    SimulationConfig,
    price_paths,
    simulate,
)

from .helpers import random_book

PHI = NormalDist().cdf
# Broadie–Glasserman–Kou: discrete monitoring ≈ continuous with the barrier moved by β·σ·√Δt
BGK_BETA = 0.5825971579390106


def continuous_hit_probability(barrier_log: float, drift_log: float, sigma: float, horizon: float, down: bool) -> float:
    """P(Brownian motion with drift `drift_log`, volatility `sigma` reaches `barrier_log` by `horizon`)."""
    root = sigma * math.sqrt(horizon)
    if down:
        return PHI((barrier_log - drift_log * horizon) / root) + math.exp(2 * drift_log * barrier_log / sigma**2) * PHI(
            (barrier_log + drift_log * horizon) / root
        )
    return PHI((-barrier_log + drift_log * horizon) / root) + math.exp(2 * drift_log * barrier_log / sigma**2) * PHI(
        (-barrier_log - drift_log * horizon) / root
    )


@pytest.mark.parametrize(("side", "liquidation_ratio", "drift"), [(1, 0.9, 0.0), (1, 0.93, 3.0), (-1, 1.1, -2.0)])
def test_liquidation_frequency_matches_discretely_monitored_barrier(
    side: int, liquidation_ratio: float, drift: float
) -> None:
    today, mmr, sigma, steps, days, paths = 100.0, 0.05, 0.8, 96, 4.0, 20_000
    liquidation_price = today * liquidation_ratio
    size = float(side)
    # collateral that puts the liquidation price exactly at `liquidation_price` (DESIGN.md formulas)
    if side > 0:
        collateral = size * today - liquidation_price * size * (1 - mmr)
    else:
        collateral = liquidation_price * (1 + mmr) - today
    market = MarketSpec(symbol="ETH", price=today, mmr=mmr, liquidation_penalty=0.01, volatility=sigma)
    portfolio = Portfolio(market=[0], size=[size], entry_price=[today], collateral=[collateral])
    config = SimulationConfig(
        paths=paths, steps=steps, horizon_days=days, impact="none", chunk_size=5_000, record_fund_path=False
    )
    result = simulate(portfolio, [market], GBM(drift=drift), config, fund_balance=0.0, seed=11)
    observed = float((result.liquidated_positions > 0).mean())

    horizon = days / 365.0
    shift = BGK_BETA * sigma * math.sqrt(horizon / steps)
    barrier = math.log(liquidation_ratio) + (-shift if side > 0 else shift)
    expected = continuous_hit_probability(barrier, drift - sigma**2 / 2, sigma, horizon, down=side > 0)
    standard_error = math.sqrt(expected * (1 - expected) / paths)
    assert abs(observed - expected) < 4 * standard_error + 0.002, (observed, expected)


def test_zero_volatility_liquidates_nothing_that_is_healthy_today() -> None:
    book = random_book(3, 400, 3)
    markets = [
        MarketSpec(
            symbol=m.symbol,
            price=m.price,
            mmr=m.mmr,
            liquidation_penalty=m.liquidation_penalty,
            volatility=0.0,
            depth=m.depth,
        )
        for m in book.markets
    ]
    p = book.portfolio
    today = np.array([m.price for m in markets])[p.market]
    mmr = np.array([m.mmr for m in markets])[p.market]
    healthy = p.collateral + p.size * (today - p.entry_price) >= mmr * np.abs(p.size) * today
    portfolio = Portfolio(
        market=p.market[healthy],
        size=p.size[healthy],
        entry_price=p.entry_price[healthy],
        collateral=p.collateral[healthy],
    )
    config = SimulationConfig(paths=50, steps=24, horizon_days=1.0, impact="sqrt", cascade=True)
    result = simulate(portfolio, markets, GBM(), config, fund_balance=1.0, seed=1)
    assert result.liquidated_positions.sum() == 0
    assert result.bad_debt.sum() == 0
    assert not result.exhausted.any()
    assert np.all(result.fund_path == 1.0)


def test_larger_fund_never_raises_exhaustion_probability() -> None:
    book = random_book(8, 300, 2, depth_scale=0.5)
    config = SimulationConfig(paths=400, steps=24, horizon_days=2.0, impact="sqrt", cascade=True, chunk_size=100)
    needed = simulate(book.portfolio, book.markets, GBM(), config, fund_balance=0.0, seed=5).required_fund
    probabilities = []
    for fund in (0.0, *np.quantile(needed, [0.1, 0.3, 0.5, 0.7, 0.9]), needed.max() * 1.01):
        result = simulate(book.portfolio, book.markets, GBM(), config, fund_balance=fund, seed=5)
        probabilities.append(float(result.exhausted.mean()))
        np.testing.assert_array_equal(result.exhausted, result.required_fund > fund)
    assert probabilities[0] > 0.5 and probabilities[-1] == 0.0
    assert all(later <= earlier for earlier, later in itertools.pairwise(probabilities))


@pytest.mark.parametrize(
    "model",
    [
        GBM(drift=3.0),
        MertonJump(drift=3.0, jump_intensity=20.0, jump_mean=-0.1, jump_std=0.1, shared_arrivals=False),
    ],
)
def test_drift_convention_expected_price_grows_at_drift(model: PriceModel) -> None:
    sigma, days, paths = 0.8, 30.0, 40_000
    market = MarketSpec(symbol="ETH", price=100.0, mmr=0.03, liquidation_penalty=0.01, volatility=sigma)
    config = SimulationConfig(paths=paths, steps=10, horizon_days=days, chunk_size=10_000)
    final = price_paths([market], model, config, seed=3)[:, -1, 0] / 100.0
    expected = math.exp(3.0 * days / 365.0)
    assert abs(final.mean() - expected) < 4 * final.std() / math.sqrt(paths)
    # the log drift is drift − σ²/2, not drift: the median sits below the mean
    if isinstance(model, GBM) and not isinstance(model, MertonJump):
        assert abs(np.log(final).mean() - (3.0 - sigma**2 / 2) * days / 365) < 4 * np.log(final).std() / math.sqrt(
            paths
        )


def test_correlated_returns_have_the_requested_correlation() -> None:
    correlation = np.array([[1.0, 0.8, 0.2], [0.8, 1.0, 0.0], [0.2, 0.0, 1.0]])
    markets = [
        MarketSpec(symbol=s, price=100.0, mmr=0.03, liquidation_penalty=0.01, volatility=0.5)
        for s in ("ETH", "BTC", "SOL")
    ]
    config = SimulationConfig(paths=2_000, steps=20, horizon_days=10.0)
    prices = price_paths(markets, GBM(correlation=correlation), config, seed=9)
    returns = np.diff(np.log(prices), axis=1).reshape(-1, 3)
    np.testing.assert_allclose(np.corrcoef(returns.T), correlation, atol=0.02)
