"""summarize: known values on hand-built results."""

from __future__ import annotations

import math

import numpy as np
import pytest

from insurance.engine import SimulationConfig, SimulationResult, summarize
from insurance.engine.metrics import wilson_interval


def result_with(
    bad_debt: np.ndarray, required_fund: np.ndarray | None = None, fund_balance: float = 100.0
) -> SimulationResult:
    n = len(bad_debt)
    required = bad_debt if required_fund is None else required_fund
    return SimulationResult(
        path_start=0,
        path_stop=n,
        seed=0,
        fund_balance=fund_balance,
        config=SimulationConfig(paths=n, steps=1),
        symbols=("ETH",),
        engine_version="test",
        bad_debt_by_market=bad_debt[:, None].astype(float),
        penalty_by_market=np.zeros((n, 1)),
        uncovered_loss=np.maximum(bad_debt - fund_balance, 0.0),
        liquidated_notional=np.zeros(n),
        liquidated_positions=np.zeros(n, dtype=np.int64),
        fund_end=np.maximum(fund_balance - bad_debt, 0.0),
        exhausted=required > fund_balance,
        required_fund=required.astype(float),
        fund_path=None,
    )


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(0, 100, 1.959963984540054)
    assert low == 0.0 and high == pytest.approx(0.03699, abs=1e-4)
    low, high = wilson_interval(50, 100, 1.959963984540054)
    assert (low, high) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))


def test_var_and_es_of_the_empirical_distribution() -> None:
    losses = np.arange(1, 1001, dtype=float)  # 1 … 1000
    metrics = summarize(result_with(losses))
    tail = metrics.tail_at(0.99)
    assert tail.value_at_risk.value == 990.0
    assert tail.expected_shortfall.value == pytest.approx(np.mean(np.arange(991, 1001)))
    assert tail.value_at_risk.low <= 990.0 <= tail.value_at_risk.high
    assert tail.expected_shortfall.low < tail.expected_shortfall.value < tail.expected_shortfall.high
    assert metrics.tail_at(0.95).value_at_risk.value == 950.0
    assert metrics.coverage_ratio.value == pytest.approx(100.0 / tail.expected_shortfall.value)
    assert metrics.mean_bad_debt.value == pytest.approx(500.5)


def test_exhaustion_probability_and_required_fund() -> None:
    required = np.arange(1000, dtype=float)
    metrics = summarize(result_with(required, required, fund_balance=899.5), target_exhaustion_probability=0.05)
    assert metrics.exhaustion_probability.value == pytest.approx(0.1)
    assert metrics.exhaustion_probability.low < 0.1 < metrics.exhaustion_probability.high
    fund = metrics.required_fund.value
    assert (required > fund).mean() <= 0.05
    assert (required > np.nextafter(fund, -math.inf)).mean() > 0.05
    # another fund size is evaluated from the same run, without uncovered loss (unknown there)
    other = summarize(result_with(required, required, fund_balance=899.5), fund_balance=949.5)
    assert other.exhaustion_probability.value == pytest.approx(0.05)
    assert other.mean_uncovered_loss is None


def test_no_bad_debt_means_infinite_coverage_and_a_plain_dict() -> None:
    metrics = summarize(result_with(np.zeros(200)))
    assert math.isinf(metrics.coverage_ratio.value)
    assert metrics.exhaustion_probability.value == 0.0
    as_dict = metrics.to_dict()
    assert as_dict["exhaustion_probability"]["value"] == 0.0
    assert as_dict["tail"][1]["level"] == 0.99
