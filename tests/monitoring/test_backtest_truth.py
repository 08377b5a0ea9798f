"""The backtest tests what the policy claims: Kupiec and Christoffersen against hand-worked closed forms, and
synthetic prices whose truth is known (constant-σ GBM: calibrated; a regime switch the EWMA lags: clustered)."""

import math

import numpy as np
import pytest
from scipy.stats import binom, chi2

from riskgov.core.templatetags.riskgov_format import p_value
from riskgov.monitoring.domain.margin_policy import (
    PolicyCoefficients,
    backtest,
    backtest_rejected,
    christoffersen_independence,
    conditional_coverage,
    kupiec_pof,
)

HOURS = 2 * 8760
SIGMA_HOURLY = 0.6 / math.sqrt(8760)  # 60 % a year


def calibrated(**overrides: float) -> PolicyCoefficients:
    values = dict(
        volatility_scaled=True,
        a=1.0,
        b=0.0,
        ewma_lambda=0.99,
        confidence=0.99,
        horizon_hours=8,
        imr_floor=0.0001,
        imr_cap=1.0,
        mmr_ratio=0.5,
    )
    return PolicyCoefficients(**(values | overrides))


def prices_from(log_returns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prices = 100.0 * np.exp(np.concatenate(([0.0], np.cumsum(log_returns))))
    return np.arange(len(prices), dtype=float), prices


def test_kupiec_by_hand():
    # n = 250, x = 8, p* = 1 %: LR = −2[242·ln 0.99 + 8·ln 0.01] + 2[242·ln(242/250) + 8·ln(8/250)]
    by_hand = -2 * (242 * math.log(0.99) + 8 * math.log(0.01)) + 2 * (242 * math.log(0.968) + 8 * math.log(0.032))
    assert by_hand == pytest.approx(7.7336, abs=1e-4)
    result = kupiec_pof(250, 8, 0.01)
    assert result.statistic == pytest.approx(by_hand, rel=1e-12)
    assert result.p_value == pytest.approx(chi2.sf(by_hand, 1), rel=1e-9)  # 0.0054


def test_christoffersen_by_hand():
    # 0 0 1 1 0 0 0 1 0 0: pairs 00 ×4, 01 ×2, 11 ×1, 10 ×2
    breach = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    result = christoffersen_independence(breach)
    assert (result.n00, result.n01, result.n10, result.n11) == (4, 2, 2, 1)
    pi0, pi1, pi = 2 / 6, 1 / 3, 3 / 9
    pooled = 6 * math.log(1 - pi) + 3 * math.log(pi)
    markov = 4 * math.log(1 - pi0) + 2 * math.log(pi0) + 2 * math.log(1 - pi1) + 1 * math.log(pi1)
    assert result.statistic == pytest.approx(-2 * (pooled - markov), abs=1e-12)  # π₀ = π₁: no evidence, LR 0
    # clustered: 0 0 0 0 1 1 1 0 0 0 0 0 1 1 → 00 ×7, 01 ×2, 10 ×1, 11 ×3
    clustered = np.array([0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1], dtype=bool)
    found = christoffersen_independence(clustered)
    assert (found.n00, found.n01, found.n10, found.n11) == (7, 2, 1, 3)
    pi0, pi1, pi = 2 / 9, 3 / 4, 5 / 13
    pooled = 8 * math.log(1 - pi) + 5 * math.log(pi)
    markov = 7 * math.log(1 - pi0) + 2 * math.log(pi0) + 1 * math.log(1 - pi1) + 3 * math.log(pi1)
    statistic = -2 * (pooled - markov)
    assert statistic == pytest.approx(3.2898, abs=1e-4)
    assert found.statistic == pytest.approx(statistic, rel=1e-12)
    assert found.p_value == pytest.approx(chi2.sf(statistic, 1), rel=1e-9)
    kupiec = kupiec_pof(14, 5, 0.05)
    both = conditional_coverage(kupiec, found)
    assert both.p_value == pytest.approx(chi2.sf(kupiec.statistic + statistic, 2), rel=1e-9)


def test_christoffersen_counts_only_adjacent_windows():
    breach = np.array([1, 1, 0, 0], dtype=bool)
    result = christoffersen_independence(breach, adjacent=np.array([False, True, True]))
    assert (result.n00, result.n01, result.n10, result.n11) == (1, 0, 1, 0)
    assert christoffersen_independence(np.zeros(50, dtype=bool)).p_value == 1.0


def test_constant_volatility_gbm_is_not_rejected_in_about_95_percent_of_seeds():
    seeds = 200
    rejected = 0
    rates = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        hours, prices = prices_from(rng.normal(-0.5 * SIGMA_HOURLY**2, SIGMA_HOURLY, HOURS))
        result = backtest(hours, prices, calibrated())
        assert result.kupiec.target_rate == pytest.approx(0.01)  # the policy's own expected rate
        assert result.kupiec.observations > 2000  # non-overlapping 8 h windows over two years
        rejected += result.kupiec.p_value < 0.05
        rates.append(result.kupiec.breach_rate)
    # rejections ~ Binomial(200, 0.05): accept anything inside its two-sided 99.9 % range
    low, high = binom.ppf(0.0005, seeds, 0.05), binom.ppf(0.9995, seeds, 0.05)
    assert low <= rejected <= high, rejected
    assert np.mean(rates) == pytest.approx(0.01, abs=0.002)


def test_a_regime_switch_the_ewma_lags_makes_breaches_cluster():
    rejected = 0
    seeds = 20
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        sigma = np.where((np.arange(HOURS) // 240) % 2 == 0, SIGMA_HOURLY, 5 * SIGMA_HOURLY)  # 10-day regimes
        hours, prices = prices_from(rng.normal(0.0, sigma))
        result = backtest(hours, prices, calibrated(horizon_hours=4))
        independence = result.independence
        assert independence.rate_after_breach > independence.rate_after_no_breach
        if independence.p_value < 0.05:
            rejected += 1
            assert backtest_rejected(result.kupiec, independence, 0.05)
    assert rejected >= 0.9 * seeds


def test_an_over_conservative_policy_is_not_a_reason_to_hold_loosening_back():
    rng = np.random.default_rng(7)
    hours, prices = prices_from(rng.normal(0.0, SIGMA_HOURLY, HOURS))
    result = backtest(hours, prices, calibrated(a=2.0))
    assert result.kupiec.p_value < 0.05 and result.kupiec.breach_rate < 0.01  # too few breaches
    assert not backtest_rejected(result.kupiec, result.independence, 0.05)


@pytest.mark.parametrize(
    ("value", "text"),
    [(2.83e-170, "< 0.001"), (0.0009999, "< 0.001"), (0.001, "0.001"), (0.41234, "0.412"), (None, "—")],
)
def test_p_values_print_readably(value, text):
    assert p_value(value) == text
