"""Bad inputs raise ValueError naming the argument."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from insurance.engine import (
    GBM,
    Bootstrap,
    ExplicitPaths,
    MarketSpec,
    MertonJump,
    Portfolio,
    PriceModel,
    SimulationConfig,
    StressScenario,
    StudentT,
    simulate,
    summarize,
)

ETH = MarketSpec(symbol="ETH", price=3000.0, mmr=0.03, liquidation_penalty=0.01, volatility=0.8, depth=5e7)
BTC = MarketSpec(symbol="BTC", price=60000.0, mmr=0.02, liquidation_penalty=0.01, volatility=0.6, depth=1e8)
BOOK = Portfolio(market=[0, 1], size=[1.0, -0.1], entry_price=[3000.0, 60000.0], collateral=[300.0, 600.0])
CONFIG = SimulationConfig(paths=10, steps=4)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"price": math.nan}, "price"),
        ({"price": -1.0}, "price"),
        ({"mmr": 1.5}, "mmr"),
        ({"liquidation_penalty": -0.1}, "liquidation_penalty"),
        ({"volatility": math.inf}, "volatility"),
        ({"depth": 0.0}, "depth"),
    ],
)
def test_market_spec_rejects(kwargs: dict[str, Any], name: str) -> None:
    fields = {"symbol": "ETH", "price": 3000.0, "mmr": 0.03, "liquidation_penalty": 0.01, "volatility": 0.8}
    with pytest.raises(ValueError, match=name):
        MarketSpec(**(fields | kwargs))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"collateral": [100.0, -1.0]}, "collateral"),
        ({"size": [1.0, 2.0, 3.0]}, "size"),
        ({"entry_price": [3000.0]}, "entry_price"),
        ({"size": [1.0, math.nan]}, "size"),
        ({"size": [0.0, 1.0]}, "size"),
        ({"entry_price": [0.0, 1.0]}, "entry_price"),
        ({"market": [0, 1.5]}, "market"),
    ],
)
def test_portfolio_rejects(kwargs: dict[str, Any], name: str) -> None:
    fields = {
        "market": [0, 1],
        "size": [1.0, -1.0],
        "entry_price": [3000.0, 3000.0],
        "collateral": [100.0, 100.0],
    }
    with pytest.raises(ValueError, match=name):
        Portfolio(**(fields | kwargs))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"paths": 0}, "paths"),
        ({"steps": 2.5}, "steps"),
        ({"horizon_days": math.nan}, "horizon_days"),
        ({"impact": "cubic"}, "impact"),
        ({"impact_coefficient": -1.0}, "impact_coefficient"),
        ({"liquidation_delay_steps": -1}, "liquidation_delay_steps"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_config_rejects(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        SimulationConfig(**kwargs)


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (GBM(correlation=[[1.0, 0.9], [0.9, 1.0], [0.0, 0.0]]), "correlation"),
        (GBM(correlation=[[1.0, 1.5], [1.5, 1.0]]), "correlation"),
        (GBM(correlation=[[1.0, 0.2], [0.3, 1.0]]), "correlation"),
        (GBM(drift=[0.1, 0.2, 0.3]), "drift"),
        (StudentT(degrees_of_freedom=2.0), "degrees_of_freedom"),
        (MertonJump(jump_std=-0.1), "jump_std"),
        (Bootstrap(returns=np.zeros((5, 3))), "returns"),
        (Bootstrap(returns=[[0.0, math.nan]]), "returns"),
        (ExplicitPaths(np.full((10, 5, 2), 100.0)[:, :4]), "prices"),
        (ExplicitPaths(np.where(np.ones((10, 5, 2)) > 0, math.nan, 1.0)), "prices"),
        (StressScenario(name="bad", waypoints=((0.0, 0.0), (1.0, -1.2))), "waypoints"),
    ],
)
def test_models_reject(model: PriceModel, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        simulate(BOOK, [ETH, BTC], model, CONFIG, fund_balance=0.0, seed=0)


def test_correlation_three_markets_not_positive_semidefinite() -> None:
    correlation = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    sol = MarketSpec(symbol="SOL", price=150.0, mmr=0.05, liquidation_penalty=0.02)
    with pytest.raises(ValueError, match="correlation is not positive semi-definite"):
        simulate(BOOK, [ETH, BTC, sol], GBM(correlation=correlation), CONFIG, fund_balance=0.0, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"fund_balance": -1.0}, "fund_balance"),
        ({"fund_balance": math.nan}, "fund_balance"),
        ({"path_range": (5, 11)}, "path_range"),
        ({"path_range": (6, 5)}, "path_range"),
        ({"seed": -3}, "seed"),
    ],
)
def test_simulate_rejects(kwargs: dict[str, Any], name: str) -> None:
    arguments = {"fund_balance": 0.0, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=name):
        simulate(BOOK, [ETH, BTC], GBM(), CONFIG, **arguments)


def test_positions_must_point_at_a_market() -> None:
    with pytest.raises(ValueError, match="market index 1"):
        simulate(BOOK, [ETH], GBM(), CONFIG, fund_balance=0.0, seed=0)
    with pytest.raises(ValueError, match="unique symbols"):
        simulate(BOOK, [ETH, ETH], GBM(), CONFIG, fund_balance=0.0, seed=0)


def test_summarize_rejects_bad_target() -> None:
    result = simulate(BOOK, [ETH, BTC], GBM(), CONFIG, fund_balance=0.0, seed=0)
    with pytest.raises(ValueError, match="target_exhaustion_probability"):
        summarize(result, target_exhaustion_probability=1.5)
    with pytest.raises(ValueError, match="fund_balance"):
        summarize(result, fund_balance=-5.0)
