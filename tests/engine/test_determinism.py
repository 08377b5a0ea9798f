"""Chunking and seeding: ranges concatenate to the full run bit for bit; same seed, same output."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from insurance.engine import (
    BLOCK_PATHS,
    GBM,
    ExplicitPaths,
    MertonJump,
    PriceModel,
    SimulationConfig,
    SimulationResult,
    StressScenario,
    StudentT,
    block_seed,
    simulate,
)

from .helpers import random_book, random_paths

ARRAYS = (
    "bad_debt_by_market",
    "penalty_by_market",
    "uncovered_loss",
    "liquidated_notional",
    "liquidated_positions",
    "fund_end",
    "exhausted",
    "required_fund",
    "fund_path",
    "bad_debt",
    "penalty_income",
)


def assert_identical(left: SimulationResult, right: SimulationResult) -> None:
    for name in ARRAYS:
        a, b = getattr(left, name), getattr(right, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert a.tobytes() == b.tobytes(), name


@pytest.mark.parametrize(
    "model",
    [
        GBM(correlation=[[1.0, 0.5], [0.5, 1.0]]),
        StudentT(),
        MertonJump(),
        StressScenario.named("march_2020", base=GBM()),
    ],
    ids=["gbm", "student-t", "merton", "stress+gbm"],
)
def test_ranges_concatenate_to_the_full_run_bit_for_bit(model: PriceModel) -> None:
    book = random_book(21, 500, 2)
    config = SimulationConfig(
        paths=1_250,
        steps=16,
        horizon_days=1.0,
        impact="sqrt",
        cascade=True,
        liquidation_delay_steps=1,
        chunk_size=300,
    )
    whole = simulate(book.portfolio, book.markets, model, config, fund_balance=5e4, seed=77)
    cuts = [0, 7, 299, 300, 901, 1_250]
    pieces = [
        simulate(book.portfolio, book.markets, model, config, fund_balance=5e4, seed=77, path_range=(a, b))
        for a, b in itertools.pairwise(cuts)
    ]
    merged = SimulationResult.concatenate(list(reversed(pieces)))
    assert (merged.path_start, merged.path_stop) == (0, 1_250)
    assert_identical(whole, merged)


def test_same_seed_same_output_and_different_seed_differs() -> None:
    book = random_book(4, 300, 3)
    config = SimulationConfig(paths=600, steps=12, horizon_days=2.0, chunk_size=250)
    first = simulate(book.portfolio, book.markets, GBM(), config, fund_balance=1e4, seed=123)
    again = simulate(book.portfolio, book.markets, GBM(), config, fund_balance=1e4, seed=123)
    other = simulate(book.portfolio, book.markets, GBM(), config, fund_balance=1e4, seed=124)
    assert_identical(first, again)
    assert not np.array_equal(first.liquidated_notional, other.liquidated_notional)


def test_unseeded_run_records_its_seed_and_can_be_repeated() -> None:
    book = random_book(4, 100, 1)
    config = SimulationConfig(paths=200, steps=8, chunk_size=64)
    first = simulate(book.portfolio, book.markets, GBM(), config, fund_balance=0.0)
    again = simulate(book.portfolio, book.markets, GBM(), config, fund_balance=0.0, seed=first.seed)
    assert_identical(first, again)


def test_block_seed_is_the_spawned_child() -> None:
    children = np.random.SeedSequence(2024).spawn(5)
    for index, child in enumerate(children):
        assert block_seed(2024, index).generate_state(4).tolist() == child.generate_state(4).tolist()


def test_explicit_paths_ranges_and_concatenation_checks() -> None:
    book = random_book(2, 80, 2)
    prices = random_paths(2, book, 10, 6)
    config = SimulationConfig(paths=10, steps=6, chunk_size=4)
    whole = simulate(book.portfolio, book.markets, ExplicitPaths(prices), config, fund_balance=1e3, seed=0)
    head = simulate(
        book.portfolio,
        book.markets,
        ExplicitPaths(prices),
        config,
        fund_balance=1e3,
        seed=0,
        path_range=(0, 5),
    )
    tail = simulate(
        book.portfolio,
        book.markets,
        ExplicitPaths(prices),
        config,
        fund_balance=1e3,
        seed=0,
        path_range=(5, 10),
    )
    assert_identical(whole, SimulationResult.concatenate([head, tail]))
    with pytest.raises(ValueError, match="adjacent"):
        SimulationResult.concatenate([head, head])
    other_fund = simulate(
        book.portfolio,
        book.markets,
        ExplicitPaths(prices),
        config,
        fund_balance=2e3,
        seed=0,
        path_range=(5, 10),
    )
    with pytest.raises(ValueError, match="same run"):
        SimulationResult.concatenate([head, other_fund])


def test_a_prebuilt_ladder_gives_the_same_result_and_a_mismatched_one_is_refused() -> None:
    import numpy as np
    import pytest

    from insurance.engine import GBM, MarketSpec, Portfolio, SimulationConfig, build_ladder, simulate

    rng = np.random.default_rng(3)
    n = 200
    portfolio = Portfolio(
        market=rng.integers(0, 2, n),
        size=rng.normal(0, 5, n) + 0.1,
        entry_price=np.full(n, 100.0),
        collateral=np.full(n, 60.0),
    )
    markets = [
        MarketSpec(symbol=s, price=100.0, mmr=0.03, liquidation_penalty=0.01, volatility=0.9, depth=1e6)
        for s in ("A", "B")
    ]
    config = SimulationConfig(paths=300, steps=24, horizon_days=1, impact="sqrt", cascade=True, chunk_size=100)
    model = GBM(correlation=np.eye(2))
    ladder = build_ladder(portfolio, markets)
    plain = simulate(portfolio, markets, model, config, fund_balance=500.0, seed=9, path_range=(100, 300))
    reused = simulate(
        portfolio, markets, model, config, fund_balance=500.0, seed=9, path_range=(100, 300), ladder=ladder
    )
    assert np.array_equal(plain.bad_debt_by_market, reused.bad_debt_by_market)
    assert np.array_equal(plain.fund_end, reused.fund_end)
    smaller = Portfolio(
        market=portfolio.market[:10],
        size=portfolio.size[:10],
        entry_price=portfolio.entry_price[:10],
        collateral=portfolio.collateral[:10],
    )
    with pytest.raises(ValueError, match="ladder"):
        simulate(smaller, markets, model, config, fund_balance=500.0, seed=9, ladder=ladder)


class _LastBlockOverflows:
    """GBM prices, except that the block holding the run's last path contains an infinite price."""

    def __init__(self, paths: int) -> None:
        self.paths = paths
        self.base = GBM()

    def validate(self, markets: object, config: object) -> None:
        self.base.validate(markets, config)

    def generate(self, markets: object, config: object, rng: np.random.Generator, start: int, stop: int) -> np.ndarray:
        prices = self.base.generate(markets, config, rng, start, stop)
        if stop == self.paths:
            prices[-1, -1, 0] = np.inf
        return prices


def test_blocks_on_several_threads_give_the_one_thread_result_and_errors() -> None:
    book = random_book(11, 300, 2)
    paths = 4 * BLOCK_PATHS + 50
    config = SimulationConfig(paths=paths, steps=10, horizon_days=1.0, impact="sqrt", chunk_size=10)
    model = GBM(correlation=[[1.0, 0.3], [0.3, 1.0]])
    one = simulate(book.portfolio, book.markets, model, config, fund_balance=1e4, seed=8, threads=1)
    for threads in (2, 3, 7):
        many = simulate(book.portfolio, book.markets, model, config, fund_balance=1e4, seed=8, threads=threads)
        assert_identical(one, many)
    assert one.liquidated_positions.sum() > 0
    finished: list[int] = []
    simulate(book.portfolio, book.markets, model, config, fund_balance=1e4, seed=8, threads=2, progress=finished.append)
    assert sorted(finished) == [50] + [BLOCK_PATHS] * 4
    # a bad price in a block generated on another thread fails the call with the model's reason
    with pytest.raises(ValueError, match="non-finite or non-positive prices"):
        simulate(book.portfolio, book.markets, _LastBlockOverflows(paths), config, fund_balance=1e4, seed=8, threads=2)


def test_chunk_size_splits_work_without_changing_a_path() -> None:
    book = random_book(5, 200, 2)
    base = SimulationConfig(paths=3 * BLOCK_PATHS, steps=8, horizon_days=1.0, chunk_size=1_000)
    model = StudentT()
    whole = simulate(book.portfolio, book.markets, model, base, fund_balance=2e3, seed=31)
    for chunk_size in (1, 37, BLOCK_PATHS, 250):
        other = simulate(
            book.portfolio, book.markets, model, replace(base, chunk_size=chunk_size), fund_balance=2e3, seed=31
        )
        for name in ARRAYS:
            assert getattr(whole, name).tobytes() == getattr(other, name).tobytes(), (chunk_size, name)
