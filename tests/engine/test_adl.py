"""Auto-deleveraging: hand-solvable books, the brute-force reference, chunking and thread counts."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from insurance.engine import (
    GBM,
    ExplicitPaths,
    MarketSpec,
    Portfolio,
    SimulationConfig,
    SimulationResult,
    build_ladder,
    simulate,
)
from insurance.engine.adl import HAIRCUT_EDGES, build_ranking, queue_best, queue_capacity, queue_start
from insurance.engine.inputs import ImpactMode

from .helpers import random_book, random_paths
from .reference import ReferenceOutcome, reference_simulate
from .test_determinism import assert_identical

RTOL = 1e-9
ADL_ARRAYS = ("notional", "haircut", "over_haircut", "accounts", "haircut_max", "haircut_histogram")


def _one_market(waterfall: str) -> list[MarketSpec]:
    return [MarketSpec(symbol="ETH", price=100.0, mmr=0.05, liquidation_penalty=0.01, loss_waterfall=waterfall)]


def _crash(prices: list[float]) -> ExplicitPaths:
    return ExplicitPaths(np.array(prices, dtype=np.float64).reshape(1, -1, 1))


def test_hand_solved_book_deleverages_the_highest_ranked_winner_first() -> None:
    # long 10 @ 100 with 100 collateral: bankruptcy price B = 90; at 80 it leaves 10 × (90 − 80) = 100 bad debt.
    # The fund holds 10, so 90 is missing. Shorts in profit at 80 (index e / (B_short − P)):
    #   short 4 @ 100, collateral 200: B = 150, index 100 / 70 ≈ 1.43
    #   short 8 @ 101, collateral 300: B = 138.5, index 101 / 58.5 ≈ 1.73 -> ranked first
    # The whole long (10) is closed against them at 90: 8 from the second (haircut 8 × 10 = 80), then 2 from the
    # first (20). Winners pay 100, 10 more than the 90 needed: the over-haircut stays in the fund.
    book = Portfolio(
        market=[0, 0, 0], size=[10.0, -4.0, -8.0], entry_price=[100.0, 100.0, 101.0], collateral=[100.0, 200.0, 300.0]
    )
    config = SimulationConfig(paths=1, steps=1, horizon_days=1.0, impact="none")
    result = simulate(book, _one_market("adl"), _crash([100.0, 80.0]), config, fund_balance=10.0, seed=0)
    assert result.adl is not None
    assert result.bad_debt[0] == pytest.approx(100.0, rel=1e-12)
    assert result.adl.haircut[0] == pytest.approx(100.0, rel=1e-12)
    assert result.adl.over_haircut[0] == pytest.approx(10.0, rel=1e-12)
    assert result.adl.notional[0] == pytest.approx(10 * 90.0, rel=1e-12)
    assert result.adl.accounts[0] == 2
    assert result.adl.haircut_max[0] == pytest.approx(80.0, rel=1e-12)
    assert result.uncovered_loss[0] == 0.0
    assert result.fund_end[0] == pytest.approx(10.0, rel=1e-12)
    assert bool(result.exhausted[0])
    # one winner with 20 and one with 80 in the haircut histogram
    expected = np.zeros(len(HAIRCUT_EDGES) + 1, dtype=np.int64)
    expected[np.searchsorted(HAIRCUT_EDGES, [20.0, 80.0], side="right")] += 1
    np.testing.assert_array_equal(result.adl.haircut_histogram[0], expected)

    socialised = simulate(book, _one_market("socialised"), _crash([100.0, 80.0]), config, fund_balance=10.0, seed=0)
    assert socialised.adl is None
    assert socialised.uncovered_loss[0] == pytest.approx(90.0, rel=1e-12)
    assert socialised.fund_end[0] == 0.0


def test_hand_solved_book_with_too_few_winners_socialises_the_rest_and_a_later_liquidation_sees_what_is_left() -> None:
    # The only winner (short 4 @ 100, collateral 200, B = 150) takes 4 of the 10 at 90: it pays 4 × 10 = 40 of
    # the 90 missing, 50 stay uncovered. Its remaining 0 is gone; then at 160 nothing is left to liquidate.
    book = Portfolio(market=[0, 0], size=[10.0, -4.0], entry_price=[100.0, 100.0], collateral=[100.0, 200.0])
    config = SimulationConfig(paths=1, steps=2, horizon_days=1.0, impact="none")
    result = simulate(book, _one_market("adl"), _crash([100.0, 80.0, 160.0]), config, fund_balance=10.0, seed=0)
    assert result.adl is not None
    assert result.adl.haircut[0] == pytest.approx(40.0, rel=1e-12)
    assert result.adl.notional[0] == pytest.approx(4 * 90.0, rel=1e-12)
    assert result.adl.over_haircut[0] == 0.0
    assert result.uncovered_loss[0] == pytest.approx(50.0, rel=1e-12)
    assert result.liquidated_positions[0] == 1  # the short was closed by ADL, not liquidated at 160
    # a partly deleveraged winner: short 8 @ 100 (collateral 400, B = 150) gives 6 of its 8 when a long of 6
    # (collateral 60, B = 90) goes bankrupt at 80; at 160 its remaining 2 are liquidated with bad debt 2 × 10.
    book = Portfolio(market=[0, 0], size=[6.0, -8.0], entry_price=[100.0, 100.0], collateral=[60.0, 400.0])
    result = simulate(book, _one_market("adl"), _crash([100.0, 80.0, 160.0]), config, fund_balance=0.0, seed=0)
    assert result.adl is not None
    assert result.adl.haircut[0] == pytest.approx(60.0, rel=1e-12)
    assert result.bad_debt[0] == pytest.approx(60.0 + 2 * 10.0, rel=1e-12)
    assert result.liquidated_positions[0] == 2
    assert result.liquidated_notional[0] == pytest.approx(6 * 80.0 + 2 * 160.0, rel=1e-12)
    assert result.uncovered_loss[0] == pytest.approx(20.0, rel=1e-12)  # no long is in profit at 160 to pay it


def _run_both(
    *,
    seed: int,
    n_positions: int,
    n_markets: int,
    steps: int,
    impact: ImpactMode,
    cascade: bool,
    delay: int,
    fund_balance: float,
    waterfall: list[str],
    n_paths: int = 6,
) -> tuple[SimulationResult, ReferenceOutcome]:
    book = random_book(seed, n_positions, n_markets)
    markets = [dataclasses.replace(m, loss_waterfall=w) for m, w in zip(book.markets, waterfall, strict=True)]
    prices = random_paths(seed, book, n_paths, steps)
    config = SimulationConfig(
        paths=n_paths,
        steps=steps,
        horizon_days=1.0,
        impact=impact,
        cascade=cascade,
        liquidation_delay_steps=delay,
        max_cascade_rounds=8,
        chunk_size=4,
    )
    fast = simulate(book.portfolio, markets, ExplicitPaths(prices), config, fund_balance=fund_balance, seed=seed)
    slow = reference_simulate(
        market=book.portfolio.market,
        size=book.portfolio.size,
        entry_price=book.portfolio.entry_price,
        collateral=book.portfolio.collateral,
        mmr=[m.mmr for m in markets],
        penalty=[m.liquidation_penalty for m in markets],
        depth=[m.depth for m in markets],
        prices=prices,
        impact=impact,
        impact_coefficient=1.0 if impact != "none" else 0.0,
        cascade=cascade,
        delay=delay,
        max_rounds=8,
        fund_balance=fund_balance,
        waterfall=waterfall,
    )
    return fast, slow


@pytest.mark.parametrize(
    ("seed", "impact", "cascade", "delay", "waterfall"),
    [
        (1, "none", False, 0, ["adl", "adl"]),
        (2, "sqrt", True, 0, ["adl", "socialised"]),
        (3, "linear", True, 1, ["adl", "adl"]),
        (4, "sqrt", False, 2, ["socialised", "adl"]),
        (5, "sqrt", True, 0, ["adl", "adl"]),
    ],
)
def test_engine_agrees_with_the_brute_force_reference(
    seed: int, impact: ImpactMode, cascade: bool, delay: int, waterfall: list[str]
) -> None:
    fund_balance = 2e4
    fast, slow = _run_both(
        seed=seed,
        n_positions=120,
        n_markets=2,
        steps=10,
        impact=impact,
        cascade=cascade,
        delay=delay,
        fund_balance=fund_balance,
        waterfall=waterfall,
    )
    assert fast.adl is not None
    assert slow.adl_haircut.sum() > 0, "the case must deleverage someone"
    # sums of what is left open are differences of band sums: compare relative to the money that moved
    scale = fund_balance + float(slow.bad_debt.max()) + float(slow.liquidated_notional.max())
    atol = RTOL * scale
    np.testing.assert_array_equal(fast.liquidated_positions, slow.liquidated_positions)
    np.testing.assert_array_equal(fast.exhausted, slow.exhausted)
    for name in ("bad_debt", "penalty_income", "liquidated_notional", "uncovered_loss", "fund_end"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=RTOL, atol=atol, err_msg=name)
    np.testing.assert_allclose(fast.fund_path, slow.fund_path, rtol=RTOL, atol=atol)
    for name in ("notional", "haircut", "over_haircut", "haircut_max"):
        expected = getattr(slow, f"adl_{name}")
        np.testing.assert_allclose(getattr(fast.adl, name), expected, rtol=RTOL, atol=atol, err_msg=name)
    np.testing.assert_array_equal(fast.adl.accounts, slow.adl_accounts)
    np.testing.assert_array_equal(fast.adl.haircut_histogram, slow.adl_haircut_histogram)


@pytest.mark.parametrize("n", [1, 2, 3, 300])
def test_winner_queue_yields_open_winners_in_ranking_order(n: int) -> None:
    rng = np.random.default_rng(11 + n)
    entry = np.sort(rng.uniform(50.0, 150.0, n))
    bankruptcy = entry * rng.uniform(1.01, 1.6, n)  # shorts: B above entry
    segment_start = np.array([0, 0, n], dtype=np.int64)  # market 0: no longs, n shorts (entry order = ladder order)
    by_entry, entry_sorted, slope, intercept, hull_line, hull_len = build_ranking(
        segment_start, entry.copy(), bankruptcy, np.array([True])
    )
    quantity = np.ones(n)
    capacity = queue_capacity(hull_line, segment_start, np.array([True]))
    values, items = np.zeros(capacity), np.zeros((capacity, 4), dtype=np.int64)
    for trial in range(100):
        # below every entry the whole segment is in profit: the queue's root lies inside the range
        price = float(rng.uniform(40.0, 140.0))
        removed = np.where(rng.random(n) < 0.3, 1.0, 0.0)
        closed_hi = int(rng.integers(0, max(n // 4, 1)))
        query_lo = int(np.searchsorted(entry_sorted, price, side="right"))
        open_lines = [i for i in range(query_lo, n) if removed[by_entry[i]] < 1.0 and not by_entry[i] < closed_hi]
        # brute force: the venues' index e / (B − P), highest first
        expected = sorted(open_lines, key=lambda i: -entry[by_entry[i]] / (bankruptcy[by_entry[i]] - price))
        size = queue_start(values, items, 0, n)
        taken = []
        while True:
            k, size = queue_best(
                values, items, size, slope, intercept, hull_line, hull_len, by_entry, quantity, removed,
                query_lo, n, 0, closed_hi, price,
            )  # fmt: skip
            assert size <= capacity
            if k < 0:
                break
            taken.append(k)
            removed[by_entry[k]] = 1.0  # ADL closes it whole; the next call must yield the next one
        assert taken == expected, trial


def test_ranges_and_thread_counts_give_the_same_result_bit_for_bit_with_adl() -> None:
    book = random_book(8, 400, 2)
    markets = [dataclasses.replace(m, loss_waterfall="adl") for m in book.markets]
    config = SimulationConfig(
        paths=700, steps=12, horizon_days=1.0, impact="sqrt", cascade=True, liquidation_delay_steps=1, chunk_size=200
    )
    model = GBM(correlation=[[1.0, 0.5], [0.5, 1.0]])
    whole = simulate(book.portfolio, markets, model, config, fund_balance=2e4, seed=5, threads=1)
    assert whole.adl is not None and whole.adl.accounts.sum() > 0
    cuts = [0, 3, 199, 200, 555, 700]
    pieces = [
        simulate(book.portfolio, markets, model, config, fund_balance=2e4, seed=5, path_range=(a, b))
        for a, b in itertools.pairwise(cuts)
    ]
    merged = SimulationResult.concatenate(pieces)
    assert_identical(whole, merged)
    assert merged.adl is not None
    for name in ADL_ARRAYS:
        assert getattr(whole.adl, name).tobytes() == getattr(merged.adl, name).tobytes(), name
    for threads in (2, 3):
        many = simulate(book.portfolio, markets, model, config, fund_balance=2e4, seed=5, threads=threads)
        assert_identical(whole, many)
        assert many.adl is not None
        for name in ADL_ARRAYS:
            assert getattr(whole.adl, name).tobytes() == getattr(many.adl, name).tobytes(), (threads, name)


def test_a_market_without_deficit_is_the_same_under_either_waterfall_and_bad_inputs_are_refused() -> None:
    book = random_book(9, 200, 2)
    config = SimulationConfig(paths=50, steps=8, horizon_days=1.0, chunk_size=25)
    rich = 1e12  # the fund never runs dry, so no one is deleveraged
    plain = simulate(book.portfolio, book.markets, GBM(), config, fund_balance=rich, seed=3)
    markets = [dataclasses.replace(m, loss_waterfall="adl") for m in book.markets]
    adl = simulate(book.portfolio, markets, GBM(), config, fund_balance=rich, seed=3)
    assert_identical(plain, adl)
    assert adl.adl is not None and adl.adl.accounts.sum() == 0
    with pytest.raises(ValueError, match="loss_waterfall"):
        MarketSpec(symbol="X", price=1.0, mmr=0.05, liquidation_penalty=0.01, loss_waterfall="haircut")
    with pytest.raises(ValueError, match="threads"):
        simulate(book.portfolio, markets, GBM(), config, fund_balance=rich, seed=3, threads=0)
    with pytest.raises(ValueError, match="loss waterfalls"):
        simulate(
            book.portfolio,
            book.markets,
            GBM(),
            config,
            fund_balance=rich,
            seed=3,
            ladder=build_ladder(book.portfolio, markets),
        )
