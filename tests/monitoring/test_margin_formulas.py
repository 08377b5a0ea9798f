"""Margin formulas against hand-worked numbers; Kupiec against scipy's chi-square; backtest breach counting."""

import math
from decimal import Decimal as D

import numpy as np
import pytest
from scipy.stats import chi2, norm

from riskgov.monitoring.domain.margin_policy import (
    PolicyCoefficients,
    backtest,
    ewma_variance,
    ewma_volatility,
    hourly_log_returns,
    initial_margin_rate,
    kupiec_pof,
    margin_rates,
    max_leverage_for,
    normal_quantile,
    oi_cap_from_depth,
    size_adjusted_imr,
)


def policy(**overrides):
    values = dict(
        volatility_scaled=True,
        a=2.0,
        b=0.001,
        ewma_lambda=0.9,
        confidence=0.99,
        horizon_hours=4,
        imr_floor=0.01,
        imr_cap=0.5,
        mmr_ratio=0.5,
    )
    return PolicyCoefficients(**(values | overrides))


def test_ewma_volatility_by_hand():
    # seed = mean r² = (1 + 4 + 9)e-4 / 3; then v ← 0.9·v + 0.1·r² for each return
    returns = np.array([0.01, -0.02, 0.03])
    seed = 14e-4 / 3
    v1 = 0.9 * seed + 0.1 * 1e-4
    v2 = 0.9 * v1 + 0.1 * 4e-4
    v3 = 0.9 * v2 + 0.1 * 9e-4
    assert v1 == pytest.approx(4.3e-4)
    assert v3 == pytest.approx(4.743e-4)
    assert ewma_variance(returns, 0.9, seed) == pytest.approx([v1, v2, v3])
    assert ewma_volatility(returns, 0.9) == pytest.approx(math.sqrt(4.743e-4))  # 0.021779


def test_returns_over_gaps_keep_hourly_variance():
    hours = np.array([0.0, 1.0, 5.0])
    prices = np.array([100.0, 101.0, 103.0])
    assert hourly_log_returns(hours, prices) == pytest.approx([math.log(1.01), math.log(103 / 101) / 2])


def test_imr_rule_by_hand():
    # z(99 %, two-sided) = 2.5758; σ_h = 0.01·√4 = 0.02; MMR part a·z·σ_h = 2·2.5758·0.02 = 0.103033;
    # IMR = 0.103033 / ratio 0.5 + b 0.001 = 0.207066
    assert normal_quantile(0.99) == pytest.approx(norm.ppf(0.995))
    assert normal_quantile(0.99) == pytest.approx(2.5758293, abs=1e-7)
    assert float(initial_margin_rate(0.01, policy())) == pytest.approx(0.2070663, abs=1e-7)
    # a = 1, b = 0: the MMR (ratio · IMR) is exactly the two-sided 99 % quantile of the horizon move
    unit = policy(a=1.0, b=0.0)
    assert float(initial_margin_rate(0.01, unit)) * 0.5 == pytest.approx(norm.ppf(0.995) * 0.02)
    assert float(initial_margin_rate(0.0001, policy())) == 0.01  # floor
    assert float(initial_margin_rate(1.0, policy())) == 0.5  # cap
    assert float(initial_margin_rate(0.05, policy(volatility_scaled=False, b=0.03))) == 0.03  # static: clamp(b)
    rates = margin_rates(0.1040332, 0.5)
    assert (rates.imr, rates.mmr, rates.max_leverage) == (D("0.1041"), D("0.0521"), D("9.5"))  # 1/0.1041 = 9.606


@pytest.mark.parametrize(
    ("imr", "leverage"), [("0.02", "50"), ("0.0234", "42"), ("0.3", "3"), ("0.7", "1.4"), ("0.0999", "10"), ("1", "1")]
)
def test_max_leverage_is_never_above_one_over_imr(imr, leverage):
    assert max_leverage_for(D(imr)) == D(leverage)
    assert max_leverage_for(D(imr)) * D(imr) <= 1


def test_mmr_stays_below_imr_after_rounding():
    rates = margin_rates(0.005, 0.99)
    assert rates.mmr < rates.imr


def test_size_add_on_and_oi_cap():
    assert size_adjusted_imr(0.02, np.array([500_000, 3_000_000]), 1_000_000, 0.01) == pytest.approx([0.02, 0.04])
    assert oi_cap_from_depth(D("10000000.5"), D("2.5")) == D("25000001")


@pytest.mark.parametrize(
    ("n", "x", "p"),
    [(1000, 10, 0.01), (1000, 25, 0.01), (500, 0, 0.01), (250, 9, 0.02), (40, 40, 0.05), (10_000, 80, 0.01)],
)
def test_kupiec_against_scipy_chi_square(n, x, p):
    result = kupiec_pof(n, x, p)
    observed = x / n
    # independent: log-likelihoods with scipy's xlogy-style zero handling, p-value from scipy.stats.chi2
    null = (n - x) * np.log(1 - p) + (x * np.log(p) if x else 0.0)
    alt = ((n - x) * np.log(1 - observed) if x < n else 0.0) + (x * np.log(observed) if x else 0.0)
    statistic = -2 * (null - alt)
    assert result.statistic == pytest.approx(statistic, rel=1e-9, abs=1e-12)
    assert result.p_value == pytest.approx(chi2.sf(statistic, df=1), rel=1e-9, abs=1e-15)
    assert result.breach_rate == pytest.approx(observed)


def test_kupiec_at_the_target_rate_is_not_rejected():
    assert kupiec_pof(1000, 10, 0.01).statistic == pytest.approx(0.0, abs=1e-12)
    assert kupiec_pof(1000, 10, 0.01).p_value == pytest.approx(1.0)


def test_backtest_counts_breaches_on_a_hand_made_series():
    # static policy: IMR 2 %, MMR 1 %; hourly moves of 0.5 % except 2 % jumps from hours 4, 7 and 9
    moves = [0.005] * 11
    for hour in (4, 7, 9):
        moves[hour] = -0.02 if hour == 7 else 0.02
    prices = 100.0 * np.cumprod([1.0, *(1 + m for m in moves)])
    hours = np.arange(12, dtype=float)
    static = policy(volatility_scaled=False, b=0.02, horizon_hours=1, confidence=0.95)
    result = backtest(hours, prices, static, warmup_hours=2, realised_window=3, actual_mmr=np.full(12, 0.025))
    # warm-up covers hours 0-2; points 3…10, each with the move to the next hour
    assert list(result.point_index) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert result.move == pytest.approx([moves[t] for t in range(3, 11)])
    assert list(np.flatnonzero(result.breach) + 3) == [4, 7, 9]
    assert result.kupiec.observations == 8 and result.kupiec.breaches == 3
    assert result.kupiec.target_rate == pytest.approx(0.05)
    assert result.actual_kupiec is not None and result.actual_kupiec.breaches == 0  # 2.5 % actual MMR holds
    assert np.isnan(result.imr[:3]).all() and (result.imr[3:] == 0.02).all() and (result.mmr[3:] == 0.01).all()
    assert result.realised_volatility[3] == pytest.approx(math.sqrt(3 * math.log(1.005) ** 2 / 3 * 8760))


def test_backtest_skips_windows_across_gaps():
    hours = np.array([0, 1, 2, 3, 4, 5, 8, 9, 10], dtype=float)
    prices = np.linspace(100, 101, 9)
    result = backtest(hours, prices, policy(horizon_hours=1), warmup_hours=2)
    assert [hours[i] for i in result.point_index] == [3, 4, 8, 9]
