"""Coverage metrics from per-path results, each with a Monte-Carlo confidence interval.

Losses are per-path total bad debt in quote units. VaR_α is the lower empirical α-quantile
(order statistic k = ⌈n·α⌉) and ES_α the expected shortfall of the empirical distribution,
(Σ_{i>k} L_(i) + (k − n·α)·L_(k)) / (n·(1 − α)). Intervals: Wilson for P(exhaustion),
distribution-free order-statistic ranks (normal approximation to the binomial) for VaR and the
required fund, the asymptotic normal standard error for ES, and the CLT for means.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .inputs import check_finite_scalar
from .simulation import SimulationResult

TAIL_LEVELS = (0.95, 0.99, 0.999)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval [low, high]."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class TailRisk:
    """VaR and ES of per-path bad debt at `level` (fraction, 0.99 = 99 %), quote units."""

    level: float
    value_at_risk: Estimate
    expected_shortfall: Estimate


@dataclass(frozen=True)
class CoverageMetrics:
    """Summary of a run for one fund size. Money in quote units; probabilities as fractions.

    coverage_ratio = fund_balance / ES99 (inf when ES99 is zero); required_fund is the smallest
    starting fund whose exhaustion probability is at most target_exhaustion_probability.
    mean_uncovered_loss is only known for the fund size the run was simulated with (else None).
    """

    paths: int
    fund_balance: float
    confidence: float
    exhaustion_probability: Estimate
    mean_bad_debt: Estimate
    mean_penalty_income: Estimate
    mean_uncovered_loss: Estimate | None
    tail: tuple[TailRisk, ...]
    coverage_ratio: Estimate
    target_exhaustion_probability: float
    required_fund: Estimate

    def tail_at(self, level: float) -> TailRisk:
        """The TailRisk entry for `level` (e.g. 0.99)."""
        for entry in self.tail:
            if math.isclose(entry.level, level):
                return entry
        raise KeyError(level)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON-serialisable except for inf)."""
        return asdict(self)


def wilson_interval(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if trials == 0:
        return 0.0, 1.0
    p_hat = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p_hat + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p_hat * (1 - p_hat) / trials + z * z / (4 * trials * trials)) / denominator
    # at 0 or n successes the interval reaches the boundary exactly (rounding would leave a ulp)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def order_rank(n: int, level: float) -> int:
    """k = ⌈n·level⌉ (1-based, within 1..n): the order statistic of the lower empirical quantile."""
    return min(n, max(1, math.ceil(n * level - 1e-9)))


def expected_shortfall(sorted_losses: NDArray[np.float64], level: float) -> NDArray[np.float64]:
    """Empirical ES at `level` along the last axis of ascending losses (one run, or bootstrap replicates)."""
    n = sorted_losses.shape[-1]
    k = order_rank(n, level)
    tail_mass = n * (1 - level)
    if tail_mass <= 0:
        return np.asarray(sorted_losses[..., -1], dtype=np.float64)
    upper = sorted_losses[..., k:].sum(axis=-1)
    return np.asarray((upper + (k - n * level) * sorted_losses[..., k - 1]) / tail_mass, dtype=np.float64)


def _quantile_with_interval(sorted_values: NDArray[np.float64], level: float, z: float) -> Estimate:
    """Lower empirical quantile L_(⌈n·level⌉) with an order-statistic confidence interval."""
    n = len(sorted_values)
    k = order_rank(n, level)
    spread = z * math.sqrt(n * level * (1 - level))
    low_rank = min(n, max(1, math.floor(n * level - spread)))
    high_rank = min(n, max(1, math.ceil(n * level + spread) + 1))
    return Estimate(
        float(sorted_values[k - 1]), float(sorted_values[low_rank - 1]), float(sorted_values[high_rank - 1])
    )


def _tail_risk(sorted_losses: NDArray[np.float64], level: float, z: float) -> TailRisk:
    n = len(sorted_losses)
    var = _quantile_with_interval(sorted_losses, level, z)
    k = order_rank(n, level)
    tail_mass = n * (1 - level)
    shortfall = float(expected_shortfall(sorted_losses, level))
    if tail_mass <= 0:
        return TailRisk(level, var, Estimate(shortfall, shortfall, shortfall))
    tail = sorted_losses[k - 1 :]
    # asymptotic variance of the historical ES estimator: (Var[L | L ≥ VaR] + α·(ES − VaR)²) / (n·(1 − α))
    variance = (float(tail.var()) + level * (shortfall - var.value) ** 2) / tail_mass
    error = z * math.sqrt(max(variance, 0.0))
    return TailRisk(level, var, Estimate(shortfall, max(0.0, shortfall - error), shortfall + error))


def _mean(values: NDArray[np.float64], z: float) -> Estimate:
    mean = float(values.mean())
    error = z * float(values.std(ddof=1)) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return Estimate(mean, mean - error, mean + error)


def summarize(
    result: SimulationResult,
    fund_balance: float | None = None,
    *,
    target_exhaustion_probability: float = 0.01,
    confidence: float = 0.95,
    tail_levels: tuple[float, ...] = TAIL_LEVELS,
) -> CoverageMetrics:
    """Coverage metrics of `result` for a starting fund of `fund_balance` (quote; default: the simulated one).

    Any fund size can be evaluated from one run: a path exhausts a fund F exactly when F is below its
    required_fund. target_exhaustion_probability and confidence are fractions (0.01 = 1 %).
    """
    n = result.n_paths
    if n == 0:
        raise ValueError("result must hold at least one path")
    simulated_fund = fund_balance is None or fund_balance == result.fund_balance
    fund = (
        result.fund_balance if fund_balance is None else check_finite_scalar("fund_balance", fund_balance, minimum=0.0)
    )
    target = check_finite_scalar("target_exhaustion_probability", target_exhaustion_probability)
    if not 0 < target < 1:
        raise ValueError(f"target_exhaustion_probability must be in (0, 1), got {target_exhaustion_probability!r}")
    level = check_finite_scalar("confidence", confidence)
    if not 0 < level < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    z = NormalDist().inv_cdf(0.5 + level / 2)

    exhausted = result.exhausted if simulated_fund else result.required_fund > fund
    count = int(exhausted.sum())
    exhaustion = Estimate(count / n, *wilson_interval(count, n, z))
    losses = np.sort(result.bad_debt)
    tail = tuple(_tail_risk(losses, tail_level, z) for tail_level in tail_levels)
    es99 = _tail_risk(losses, 0.99, z).expected_shortfall

    def ratio(denominator: float) -> float:
        return math.inf if denominator <= 0 else fund / denominator

    # the fund that meets the target is the (1 − target)-quantile of the per-path required fund
    required = _quantile_with_interval(np.sort(result.required_fund), 1.0 - target, z)
    return CoverageMetrics(
        paths=n,
        fund_balance=fund,
        confidence=level,
        exhaustion_probability=exhaustion,
        mean_bad_debt=_mean(result.bad_debt, z),
        mean_penalty_income=_mean(result.penalty_income, z),
        mean_uncovered_loss=_mean(result.uncovered_loss, z) if simulated_fund else None,
        tail=tail,
        coverage_ratio=Estimate(ratio(es99.value), ratio(es99.high), ratio(es99.low)),
        target_exhaustion_probability=target,
        required_fund=required,
    )
