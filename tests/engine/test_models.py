"""Price models and stress scenarios."""

from __future__ import annotations

import numpy as np
import pytest

from insurance.engine import (
    BLOCK_PATHS,
    GBM,
    NAMED_SCENARIOS,
    Bootstrap,
    MarketSpec,
    Portfolio,
    SimulationConfig,
    StressScenario,
    StudentT,
    price_paths,
    simulate,
)
from insurance.engine.chunks import block_generator
from insurance.engine.models import prices_from_log_returns

MARKETS = [
    MarketSpec(symbol="ETH", price=3000.0, mmr=0.03, liquidation_penalty=0.01, volatility=0.8),
    MarketSpec(symbol="BTC", price=60000.0, mmr=0.02, liquidation_penalty=0.01, volatility=0.6),
]


@pytest.mark.parametrize("name", sorted(NAMED_SCENARIOS))
def test_named_scenarios_are_deterministic_and_start_today(name: str) -> None:
    config = SimulationConfig(paths=3, steps=168, horizon_days=7.0)
    prices = price_paths(MARKETS, StressScenario.named(name), config, seed=0)
    np.testing.assert_array_equal(prices[0], prices[2])
    np.testing.assert_array_equal(prices[:, 0], [[3000.0, 60000.0]] * 3)
    waypoints = NAMED_SCENARIOS[name][1]
    deepest = min(change for _, change in waypoints)
    assert prices[0, :, 0].min() / 3000.0 == pytest.approx(1 + deepest)


def test_march_2020_liquidates_a_ten_times_long() -> None:
    config = SimulationConfig(paths=1, steps=24, horizon_days=1.0, impact="none")
    book = Portfolio(market=[0], size=[10.0], entry_price=[3000.0], collateral=[3000.0])
    result = simulate(
        book, MARKETS, StressScenario.named("march_2020", betas=[1.0, 0.8]), config, fund_balance=0.0, seed=0
    )
    assert result.liquidated_positions[0] == 1
    assert result.exhausted[0] == (result.bad_debt[0] > result.penalty_income[0])


def test_user_scenario_interpolates_and_scales_by_beta() -> None:
    scenario = StressScenario(name="custom", waypoints=((0.0, 0.0), (2.0, -0.2)), betas=[1.0, 0.5])
    config = SimulationConfig(paths=1, steps=4, horizon_days=4 / 24)  # hourly steps
    prices = price_paths(MARKETS, scenario, config, seed=0)[0]
    np.testing.assert_allclose(prices[:, 0] / 3000.0, [1.0, 0.9, 0.8, 0.8, 0.8])
    np.testing.assert_allclose(prices[:, 1] / 60000.0, [1.0, 0.95, 0.9, 0.9, 0.9])


def test_bootstrap_draws_whole_rows_of_history() -> None:
    history = np.array([[0.01, 0.02], [-0.03, -0.01], [0.0, 0.05]])
    config = SimulationConfig(paths=50, steps=6)
    prices = price_paths(MARKETS, Bootstrap(history, block_length=2), config, seed=1)
    returns = np.diff(np.log(prices), axis=1).reshape(-1, 2)
    rows = {tuple(np.round(row, 12)) for row in history}
    assert {tuple(np.round(row, 12)) for row in returns} <= rows


def test_student_t_has_unit_variance_and_fat_tails() -> None:
    market = [MarketSpec(symbol="ETH", price=1.0, mmr=0.03, liquidation_penalty=0.01, volatility=1.0)]
    config = SimulationConfig(paths=20_000, steps=5, horizon_days=365.0 * 5, chunk_size=10_000)
    returns = np.diff(np.log(price_paths(market, StudentT(degrees_of_freedom=5.0), config, seed=2)), axis=1).ravel()
    standardised = (returns - returns.mean()) / returns.std()
    assert returns.std() == pytest.approx(1.0, rel=0.05)
    assert np.mean(standardised**4) > 4.0  # a Gaussian has 3


def test_fund_path_quantiles_shape() -> None:
    book = Portfolio(market=[0, 1], size=[5.0, -0.5], entry_price=[3000.0, 60000.0], collateral=[1500.0, 3000.0])
    config = SimulationConfig(paths=100, steps=12, horizon_days=2.0)
    result = simulate(book, MARKETS, GBM(), config, fund_balance=1e3, seed=3)
    bands = result.fund_path_quantiles((0.05, 0.5, 0.95))
    assert bands.shape == (3, 13)
    assert np.all(bands[0] <= bands[2])
    assert result.bad_debt_by_market.shape == (100, 2)


def test_compounding_equals_the_array_formula_and_gbm_prices_follow_from_the_block_normals() -> None:
    rng = np.random.default_rng(4)
    shocks = rng.standard_normal((7, 30, 2))
    scale, offset = np.array([0.02, 0.05]), np.array([-1e-4, 3e-4])
    today = np.array([3000.0, 60000.0])
    expected = today * np.exp(np.cumsum(offset + scale * shocks, axis=1))
    prices = prices_from_log_returns(MARKETS, shocks, scale=scale, offset=offset)
    assert prices.shape == (7, 31, 2)
    np.testing.assert_array_equal(prices[:, 0], np.broadcast_to(today, (7, 2)))
    np.testing.assert_allclose(prices[:, 1:], expected, rtol=1e-13, atol=0.0)
    np.testing.assert_allclose(
        prices_from_log_returns(MARKETS, shocks)[:, 1:], today * np.exp(np.cumsum(shocks, axis=1))
    )
    # GBM: block b's prices are today·exp(cumsum((μ − σ²/2)Δt + σ√Δt·L·Z)) with Z from block b's own generator
    config = SimulationConfig(paths=BLOCK_PATHS + 5, steps=12, horizon_days=2.0)
    correlation = np.array([[1.0, 0.4], [0.4, 1.0]])
    paths = price_paths(MARKETS, GBM(correlation=correlation), config, seed=99)
    sigma = np.array([0.8, 0.6])
    z = block_generator(99, 1).standard_normal((5, 12, 2)) @ np.linalg.cholesky(correlation).T
    log_returns = -0.5 * sigma**2 * config.step_years + sigma * np.sqrt(config.step_years) * z
    np.testing.assert_allclose(paths[BLOCK_PATHS:, 1:], today * np.exp(np.cumsum(log_returns, axis=1)), rtol=1e-12)
