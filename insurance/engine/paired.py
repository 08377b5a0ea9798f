"""Paired differences of two coverage runs simulated on common random numbers (same seed, paths and steps).

Path i of run A and path i of run B see the same market moves, so the difference of a figure is estimated
from the per-path differences d_i = x_B,i − x_A,i, whose variance is far smaller than that of two
independent runs. Every difference is B − A (proposed minus current):

- ΔP(exhaustion), Δmean liquidated notional, Δmean bad debt: means of d_i, with the CLT interval
  d̄ ± z·s_d/√n (s_d the sample standard deviation of d_i).
- ΔES99 is defined as ES99(B) − ES99(A), the difference of the two runs' ES99 estimates (the empirical
  expected shortfall of `metrics.summarize`). Δcoverage ratio is fund_B/ES99(B) − fund_A/ES99(A). Their
  intervals come from a paired percentile bootstrap: the same resampled path indices are applied to both
  runs, with a generator seeded by `bootstrap_seed`, so the interval is deterministic.

Identical runs give Δ = 0 with a zero-width interval; B = A + c on every path gives ΔES99 = c exactly.
Money in quote units, probabilities as fractions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from .metrics import Estimate, expected_shortfall

PAIRED_LEVEL = 0.99  # the tail level of the ES difference
BOOTSTRAP_REPLICATES = 400
BOOTSTRAP_SEED = 20_240_601
BOOTSTRAP_BATCH_ELEMENTS = 4_000_000  # replicates × paths sorted at once (about 32 MB of float64)


@dataclass(frozen=True)
class PairedSample:
    """Per-path outcomes of one run: bad debt and liquidated notional (quote), exhaustion flags."""

    bad_debt: NDArray[np.float64]
    exhausted: NDArray[np.bool_]
    liquidated_notional: NDArray[np.float64]
    fund_balance: float


@dataclass(frozen=True)
class PairedDeltas:
    """B − A for each figure with its confidence interval; None where a figure is unbounded (ES99 = 0)."""

    paths: int
    confidence: float
    es99: Estimate
    exhaustion_probability: Estimate
    coverage_ratio: Estimate | None
    liquidated_notional: Estimate
    mean_bad_debt: Estimate
    bootstrap_replicates: int
    bootstrap_seed: int


def paired_mean(differences: NDArray[np.float64], z: float) -> Estimate:
    """Mean of paired per-path differences with the CLT interval (zero width when every d_i is equal)."""
    mean = float(differences.mean())
    spread = float(differences.std(ddof=1)) if len(differences) > 1 else 0.0
    error = z * spread / math.sqrt(len(differences))
    return Estimate(mean, mean - error, mean + error)


def _coverage(fund: float, es: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore"):
        return np.where(es > 0, fund / np.where(es > 0, es, 1.0), np.inf)


def _bootstrap_es(
    a: NDArray[np.float64], b: NDArray[np.float64], *, level: float, replicates: int, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """ES of A and of B on the same resampled path indices, one value per replicate."""
    n = len(a)
    rng = np.random.default_rng(seed)
    batch = max(1, BOOTSTRAP_BATCH_ELEMENTS // max(n, 1))
    es_a: list[NDArray[np.float64]] = []
    es_b: list[NDArray[np.float64]] = []
    done = 0
    while done < replicates:
        size = min(batch, replicates - done)
        index = rng.integers(0, n, size=(size, n))
        es_a.append(expected_shortfall(np.sort(a[index], axis=1), level))
        es_b.append(expected_shortfall(np.sort(b[index], axis=1), level))
        done += size
    return np.concatenate(es_a), np.concatenate(es_b)


def _percentile_interval(value: float, replicates: NDArray[np.float64], confidence: float) -> Estimate:
    tail = (1 - confidence) / 2
    low, high = np.quantile(replicates, [tail, 1 - tail])
    # the point estimate lies inside its own interval even when the bootstrap distribution is skewed
    return Estimate(value, min(float(low), value), max(float(high), value))


def paired_deltas(
    a: PairedSample,
    b: PairedSample,
    *,
    confidence: float = 0.95,
    level: float = PAIRED_LEVEL,
    bootstrap_replicates: int = BOOTSTRAP_REPLICATES,
    bootstrap_seed: int = BOOTSTRAP_SEED,
) -> PairedDeltas:
    """Differences B − A of two runs on the same paths, each with its own interval (see the module docstring).

    Raises ValueError when the runs do not hold the same number of paths (they cannot be paired).
    """
    n = len(a.bad_debt)
    if n == 0 or len(b.bad_debt) != n or len(a.exhausted) != n or len(b.exhausted) != n:
        raise ValueError(f"paired runs need the same paths (got {len(a.bad_debt)} and {len(b.bad_debt)})")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    loss_a = np.asarray(a.bad_debt, dtype=np.float64)
    loss_b = np.asarray(b.bad_debt, dtype=np.float64)

    es_a = float(expected_shortfall(np.sort(loss_a), level))
    es_b = float(expected_shortfall(np.sort(loss_b), level))
    boot_a, boot_b = _bootstrap_es(loss_a, loss_b, level=level, replicates=bootstrap_replicates, seed=bootstrap_seed)
    es = _percentile_interval(es_b - es_a, boot_b - boot_a, confidence)

    coverage: Estimate | None = None
    ratio_a = float(_coverage(a.fund_balance, np.array(es_a)))
    ratio_b = float(_coverage(b.fund_balance, np.array(es_b)))
    if math.isfinite(ratio_a) and math.isfinite(ratio_b):
        with np.errstate(invalid="ignore"):  # inf - inf where both replicates cover nothing: dropped below
            boot_ratio = _coverage(b.fund_balance, boot_b) - _coverage(a.fund_balance, boot_a)
        finite = boot_ratio[np.isfinite(boot_ratio)]
        coverage = _percentile_interval(
            ratio_b - ratio_a, finite if len(finite) else np.array([ratio_b - ratio_a]), confidence
        )

    exhausted = b.exhausted.astype(np.float64) - a.exhausted.astype(np.float64)
    notional = np.asarray(b.liquidated_notional, dtype=np.float64) - np.asarray(a.liquidated_notional, np.float64)
    return PairedDeltas(
        paths=n,
        confidence=confidence,
        es99=es,
        exhaustion_probability=paired_mean(exhausted, z),
        coverage_ratio=coverage,
        liquidated_notional=paired_mean(notional, z),
        mean_bad_debt=paired_mean(loss_b - loss_a, z),
        bootstrap_replicates=bootstrap_replicates,
        bootstrap_seed=bootstrap_seed,
    )
