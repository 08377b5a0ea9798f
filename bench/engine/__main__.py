"""Engine benchmark: ``python -m bench.engine`` writes bench/results/engine.json.

(a) 100 000 positions, 10 markets, 10 000 paths, 96 steps, GBM, sqrt impact — goal ≤ 5 s;
(b) 1 000 000 positions, same run — goal ≤ 20 s and ≤ 2 GiB peak memory;
(c) speed ratio of the engine over the slow reference in tests/engine on a size it can finish,
    with the largest relative difference between the two.
Each case runs in its own process so its peak RSS (resource.getrusage) is its own; compile time is
paid (or loaded from numba's cache) in a warm-up call before the timed one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent.parent / "results" / "engine.json"
GIB = 1024**3


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def run_scale_case(n_positions: int) -> dict[str, Any]:
    """Time one full run of 10 000 paths × 96 steps over `n_positions` positions and 10 markets."""
    from insurance.engine import GBM, SimulationConfig, simulate, summarize

    from .workload import market_correlation, synthetic_book

    started = time.perf_counter()
    portfolio, markets = synthetic_book(n_positions, 10, seed=1)
    model = GBM(correlation=market_correlation(10))
    warm = time.perf_counter()
    simulate(portfolio, markets, model, SimulationConfig(paths=10, steps=4), fund_balance=0.0, seed=0)
    compile_seconds = time.perf_counter() - warm
    config = SimulationConfig(paths=10_000, steps=96, horizon_days=4.0, impact="sqrt", impact_coefficient=1.0)
    book_seconds = warm - started
    rss_before = _peak_rss_bytes()
    timed = time.perf_counter()
    fund = 0.02 * float(np.sum(np.abs(portfolio.size * portfolio.entry_price)))  # 2 % of open interest
    result = simulate(portfolio, markets, model, config, fund_balance=fund, seed=42)
    seconds = time.perf_counter() - timed
    metrics = summarize(result)
    cascade_config = replace(config, cascade=True, liquidation_delay_steps=1)
    timed = time.perf_counter()
    simulate(portfolio, markets, model, cascade_config, fund_balance=fund, seed=42)
    cascade_seconds = time.perf_counter() - timed
    return {
        "positions": n_positions,
        "markets": 10,
        "paths": config.paths,
        "steps": config.steps,
        "model": "GBM (one-factor correlation 0.6)",
        "impact": "sqrt",
        "cascade": False,
        "simulate_seconds": round(seconds, 3),
        "simulate_seconds_with_cascade_and_one_step_delay": round(cascade_seconds, 3),
        "book_generation_seconds": round(book_seconds, 3),
        "warmup_seconds_including_compile_or_cache_load": round(compile_seconds, 3),
        "peak_rss_bytes": _peak_rss_bytes(),
        "peak_rss_before_simulate_bytes": rss_before,
        "fund_balance": fund,
        "mean_liquidated_positions_per_path": float(result.liquidated_positions.mean()),
        "exhaustion_probability": metrics.exhaustion_probability.value,
    }


def run_reference_case() -> dict[str, Any]:
    """Engine vs the slow reference on identical explicit paths."""
    from insurance.engine import GBM, ExplicitPaths, SimulationConfig, price_paths, simulate
    from tests.engine.reference import reference_simulate

    from .workload import market_correlation, synthetic_book

    portfolio, markets = synthetic_book(400, 2, seed=2)
    config = SimulationConfig(paths=20, steps=96, horizon_days=4.0, impact="sqrt")
    prices = price_paths(markets, GBM(correlation=market_correlation(2)), config, seed=3)
    simulate(portfolio, markets, ExplicitPaths(prices), config, fund_balance=1e5, seed=0)  # warm-up
    repeats = 20
    timed = time.perf_counter()
    for _ in range(repeats):
        fast = simulate(portfolio, markets, ExplicitPaths(prices), config, fund_balance=1e5, seed=0)
    fast_seconds = (time.perf_counter() - timed) / repeats
    timed = time.perf_counter()
    slow = reference_simulate(
        market=portfolio.market,
        size=portfolio.size,
        entry_price=portfolio.entry_price,
        collateral=portfolio.collateral,
        mmr=[m.mmr for m in markets],
        penalty=[m.liquidation_penalty for m in markets],
        depth=[m.depth for m in markets],
        prices=prices,
        impact="sqrt",
        impact_coefficient=1.0,
        cascade=False,
        delay=0,
        max_rounds=64,
        fund_balance=1e5,
    )
    slow_seconds = time.perf_counter() - timed
    scale = np.maximum(np.abs(slow.bad_debt), 1e-300)
    return {
        "positions": 400,
        "markets": 2,
        "paths": config.paths,
        "steps": config.steps,
        "impact": "sqrt",
        "engine_seconds": fast_seconds,
        "reference_seconds": round(slow_seconds, 3),
        "speed_ratio": round(slow_seconds / fast_seconds, 1),
        "max_relative_difference_bad_debt": float(np.max(np.abs(fast.bad_debt - slow.bad_debt) / scale)),
        "liquidations": int(slow.liquidated_positions.sum()),
    }


def _child(case: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.engine", "--case", case],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--case", choices=["a", "b", "c"], help="run one case in this process (prints JSON)")
    args = parser.parse_args()
    if args.case:
        outcome = {
            "a": lambda: run_scale_case(100_000),
            "b": lambda: run_scale_case(1_000_000),
            "c": run_reference_case,
        }[args.case]()
        print(json.dumps(outcome))
        return
    from insurance.engine import ENGINE_VERSION

    a, b, c = _child("a"), _child("b"), _child("c")
    report = {
        "engine_version": ENGINE_VERSION,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "a_100k_positions": a | {"goal_seconds": 5.0, "meets_goal": a["simulate_seconds"] <= 5.0},
        "b_1m_positions": b
        | {
            "goal_seconds": 20.0,
            "goal_peak_bytes": 2 * GIB,
            "meets_goal": b["simulate_seconds"] <= 20.0 and b["peak_rss_bytes"] <= 2 * GIB,
        },
        "c_speed_ratio_vs_reference": c,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
