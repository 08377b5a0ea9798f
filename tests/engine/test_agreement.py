"""The fast engine agrees with the slow reference on random books and explicit paths."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurance.engine import ExplicitPaths, SimulationConfig, SimulationResult, simulate
from insurance.engine.inputs import ImpactMode

from .helpers import random_book, random_paths
from .reference import ReferenceOutcome, reference_simulate

RTOL = 1e-9


def _run_both(
    *,
    seed: int,
    n_positions: int,
    n_markets: int,
    n_paths: int,
    steps: int,
    impact: ImpactMode,
    coefficient: float,
    cascade: bool,
    delay: int,
    max_rounds: int,
    depth_scale: float,
    fund_balance: float,
    chunk_size: int = 3,
) -> tuple[SimulationResult, ReferenceOutcome]:
    book = random_book(seed, n_positions, n_markets, depth_scale=depth_scale)
    prices = random_paths(seed, book, n_paths, steps)
    config = SimulationConfig(
        paths=n_paths,
        steps=steps,
        horizon_days=1.0,
        impact=impact,
        impact_coefficient=coefficient,
        cascade=cascade,
        liquidation_delay_steps=delay,
        max_cascade_rounds=max_rounds,
        chunk_size=chunk_size,
    )
    fast = simulate(book.portfolio, book.markets, ExplicitPaths(prices), config, fund_balance=fund_balance, seed=seed)
    portfolio = book.portfolio
    slow = reference_simulate(
        market=portfolio.market,
        size=portfolio.size,
        entry_price=portfolio.entry_price,
        collateral=portfolio.collateral,
        mmr=[m.mmr for m in book.markets],
        penalty=[m.liquidation_penalty for m in book.markets],
        depth=[m.depth for m in book.markets],
        prices=prices,
        impact=impact,
        impact_coefficient=coefficient if impact != "none" else 0.0,
        cascade=cascade,
        delay=delay,
        max_rounds=max_rounds,
        fund_balance=fund_balance,
    )
    return fast, slow


def _assert_agree(fast: SimulationResult, slow: ReferenceOutcome, fund_balance: float) -> None:
    np.testing.assert_array_equal(fast.liquidated_positions, slow.liquidated_positions)
    np.testing.assert_allclose(fast.bad_debt, slow.bad_debt, rtol=RTOL, atol=0)
    np.testing.assert_allclose(fast.bad_debt_by_market, slow.bad_debt_by_market, rtol=RTOL, atol=0)
    np.testing.assert_allclose(fast.penalty_income, slow.penalty_income, rtol=RTOL, atol=0)
    np.testing.assert_allclose(fast.liquidated_notional, slow.liquidated_notional, rtol=RTOL, atol=0)
    np.testing.assert_array_equal(fast.exhausted, slow.exhausted)
    # fund balances are differences of sums: compare relative to the money that flowed
    scale = fund_balance + slow.bad_debt.max(initial=0.0) + slow.penalty_income.max(initial=0.0)
    np.testing.assert_allclose(fast.fund_end, slow.fund_end, rtol=RTOL, atol=RTOL * scale)
    np.testing.assert_allclose(fast.uncovered_loss, slow.uncovered_loss, rtol=RTOL, atol=RTOL * scale)
    np.testing.assert_allclose(fast.fund_path, slow.fund_path, rtol=RTOL, atol=RTOL * scale)
    np.testing.assert_allclose(fast.required_fund, slow.required_fund, rtol=RTOL, atol=RTOL * scale)


@settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_positions=st.integers(0, 40),
    n_markets=st.integers(1, 3),
    n_paths=st.integers(1, 4),
    steps=st.integers(1, 10),
    impact=st.sampled_from(["none", "linear", "sqrt"]),
    coefficient=st.sampled_from([0.1, 0.5, 1.0, 3.0]),
    cascade=st.booleans(),
    delay=st.integers(0, 3),
    max_rounds=st.sampled_from([1, 2, 64]),
    depth_scale=st.sampled_from([0.05, 1.0, 20.0]),
    fund_fraction=st.sampled_from([0.0, 0.001, 0.01, 0.1]),
)
def test_engine_matches_reference(
    *,
    seed: int,
    n_positions: int,
    n_markets: int,
    n_paths: int,
    steps: int,
    impact: ImpactMode,
    coefficient: float,
    cascade: bool,
    delay: int,
    max_rounds: int,
    depth_scale: float,
    fund_fraction: float,
) -> None:
    book_notional = 1e4 * max(n_positions, 1)
    fund = fund_fraction * book_notional
    fast, slow = _run_both(
        seed=seed,
        n_positions=n_positions,
        n_markets=n_markets,
        n_paths=n_paths,
        steps=steps,
        impact=impact,
        coefficient=coefficient,
        cascade=cascade,
        delay=delay,
        max_rounds=max_rounds,
        depth_scale=depth_scale,
        fund_balance=fund,
    )
    _assert_agree(fast, slow, fund)


@pytest.mark.parametrize("impact", ["none", "linear", "sqrt"])
@pytest.mark.parametrize("cascade", [False, True])
@pytest.mark.parametrize("delay", [0, 2])
def test_every_mode_agrees_on_a_larger_book(impact: ImpactMode, cascade: bool, delay: int) -> None:
    fast, slow = _run_both(
        seed=20_200_312,
        n_positions=120,
        n_markets=2,
        n_paths=3,
        steps=12,
        impact=impact,
        coefficient=1.0,
        cascade=cascade,
        delay=delay,
        max_rounds=64,
        depth_scale=0.5,
        fund_balance=2e4,
    )
    assert slow.liquidated_positions.sum() > 0
    assert slow.bad_debt.sum() > 0
    _assert_agree(fast, slow, 2e4)


def test_cascade_moves_price_further_than_no_cascade() -> None:
    kwargs: dict[str, Any] = dict(
        seed=5,
        n_positions=150,
        n_markets=1,
        n_paths=4,
        steps=8,
        impact="sqrt",
        coefficient=1.0,
        delay=0,
        max_rounds=64,
        depth_scale=0.2,
        fund_balance=0.0,
    )
    calm, _ = _run_both(cascade=False, **kwargs)
    cascading, _ = _run_both(cascade=True, **kwargs)
    assert cascading.liquidated_positions.sum() >= calm.liquidated_positions.sum()
    assert cascading.bad_debt.sum() > calm.bad_debt.sum()
