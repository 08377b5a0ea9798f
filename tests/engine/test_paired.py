"""Paired differences of two runs against an obviously-correct reference: a plain per-path loop, a plain
resampling loop for the bootstrap, and closed forms (identical runs, a known shift)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from insurance.engine import PairedSample, paired_deltas
from insurance.engine.metrics import expected_shortfall


def _sample(losses: np.ndarray, *, fund: float, notional: np.ndarray | None = None) -> PairedSample:
    return PairedSample(
        bad_debt=losses,
        exhausted=losses > fund,
        liquidated_notional=notional if notional is not None else 10 * losses,
        fund_balance=fund,
    )


def _reference_es(losses: list[float], level: float) -> float:
    """ES of the empirical distribution written out: the mean of the worst n·(1 − level) paths, the boundary
    path counted by the fraction that falls in the tail."""
    ordered = sorted(losses)
    n = len(ordered)
    k = math.ceil(n * level - 1e-9)
    total = sum(ordered[k:]) + (k - n * level) * ordered[k - 1]
    return total / (n * (1 - level))


def _reference_mean(differences: list[float], z: float) -> tuple[float, float, float]:
    n = len(differences)
    mean = sum(differences) / n
    variance = sum((d - mean) ** 2 for d in differences) / (n - 1)
    half = z * math.sqrt(variance / n)
    return mean, mean - half, mean + half


@pytest.fixture
def pair() -> tuple[PairedSample, PairedSample]:
    rng = np.random.default_rng(5)
    base = rng.lognormal(10, 1.5, 800) * (rng.random(800) < 0.3)
    changed = base * rng.uniform(0.6, 1.1, 800)  # tighter margins: less bad debt on most paths
    return _sample(base, fund=200_000.0), _sample(changed, fund=200_000.0, notional=9 * changed)


def test_expected_shortfall_matches_the_written_out_estimator() -> None:
    rng = np.random.default_rng(3)
    for n in (7, 100, 1234):
        losses = rng.exponential(1000, n)
        value = float(expected_shortfall(np.sort(losses), 0.99))
        assert value == pytest.approx(_reference_es(losses.tolist(), 0.99), rel=1e-12)


def test_identical_runs_give_zero_deltas_with_zero_width(pair: tuple[PairedSample, PairedSample]) -> None:
    a, _ = pair
    deltas = paired_deltas(a, a)
    for estimate in (deltas.es99, deltas.exhaustion_probability, deltas.liquidated_notional, deltas.mean_bad_debt):
        assert (estimate.value, estimate.low, estimate.high) == (0.0, 0.0, 0.0)
    assert deltas.coverage_ratio is not None
    assert (deltas.coverage_ratio.low, deltas.coverage_ratio.high) == (0.0, 0.0)


def test_a_known_shift_gives_that_shift(pair: tuple[PairedSample, PairedSample]) -> None:
    a, _ = pair
    shift = 12_345.0
    b = _sample(a.bad_debt + shift, fund=a.fund_balance, notional=a.liquidated_notional + 2 * shift)
    deltas = paired_deltas(a, b)
    assert deltas.es99.value == pytest.approx(shift, rel=1e-9)
    assert deltas.es99.low == pytest.approx(shift, rel=1e-9)
    assert deltas.es99.high == pytest.approx(shift, rel=1e-9)
    assert deltas.mean_bad_debt.value == pytest.approx(shift)
    assert deltas.mean_bad_debt.high - deltas.mean_bad_debt.low == pytest.approx(0.0, abs=1e-6)
    assert deltas.liquidated_notional.value == pytest.approx(2 * shift)


def test_per_path_deltas_match_a_plain_loop(pair: tuple[PairedSample, PairedSample]) -> None:
    a, b = pair
    deltas = paired_deltas(a, b, confidence=0.9)
    z = NormalDist().inv_cdf(0.95)
    exhausted = [float(b.exhausted[i]) - float(a.exhausted[i]) for i in range(len(a.bad_debt))]
    notional = [float(b.liquidated_notional[i] - a.liquidated_notional[i]) for i in range(len(a.bad_debt))]
    for estimate, reference in (
        (deltas.exhaustion_probability, _reference_mean(exhausted, z)),
        (deltas.liquidated_notional, _reference_mean(notional, z)),
    ):
        assert (estimate.value, estimate.low, estimate.high) == pytest.approx(reference, rel=1e-9, abs=1e-12)
    es_a = summarize_es(a)
    es_b = summarize_es(b)
    assert deltas.es99.value == pytest.approx(es_b - es_a, rel=1e-9)
    assert deltas.coverage_ratio is not None
    assert deltas.coverage_ratio.value == pytest.approx(a.fund_balance / es_b - a.fund_balance / es_a, rel=1e-9)


def summarize_es(sample: PairedSample) -> float:
    return _reference_es(sample.bad_debt.tolist(), 0.99)


def test_the_es_interval_is_a_seeded_paired_bootstrap(pair: tuple[PairedSample, PairedSample]) -> None:
    a, b = pair
    deltas = paired_deltas(a, b, bootstrap_replicates=50, bootstrap_seed=9)
    assert paired_deltas(a, b, bootstrap_replicates=50, bootstrap_seed=9) == deltas  # deterministic
    rng = np.random.default_rng(9)
    replicates = []
    for _ in range(50):  # the same indices on both runs, one replicate at a time
        index = rng.integers(0, len(a.bad_debt), size=(1, len(a.bad_debt)))[0]
        replicates.append(
            _reference_es(b.bad_debt[index].tolist(), 0.99) - _reference_es(a.bad_debt[index].tolist(), 0.99)
        )
    low, high = np.quantile(replicates, [0.025, 0.975])
    assert deltas.es99.low == pytest.approx(min(low, deltas.es99.value), rel=1e-9)
    assert deltas.es99.high == pytest.approx(max(high, deltas.es99.value), rel=1e-9)


def test_pairing_is_tighter_than_independent_runs(pair: tuple[PairedSample, PairedSample]) -> None:
    a, b = pair
    deltas = paired_deltas(a, b)
    independent = math.hypot(float(a.bad_debt.std(ddof=1)), float(b.bad_debt.std(ddof=1))) / math.sqrt(800)
    paired_half = (deltas.mean_bad_debt.high - deltas.mean_bad_debt.low) / 2
    assert paired_half < 0.5 * NormalDist().inv_cdf(0.975) * independent


def test_runs_with_different_paths_cannot_be_paired(pair: tuple[PairedSample, PairedSample]) -> None:
    a, b = pair
    shorter = _sample(b.bad_debt[:-1], fund=b.fund_balance)
    with pytest.raises(ValueError, match="same paths"):
        paired_deltas(a, shorter)
