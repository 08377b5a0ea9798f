"""Backtest of the coverage model against realised bad debt (pure NumPy).

Each observation is one window: it starts at 00:00 UTC of a day and lasts the horizon of the baseline
coverage run that was current then. The run's per-path bad debt over its horizon is the predicted
distribution F; the window's realised bad debt ``y`` (quote units) is what liquidations in the window
actually cost the fund. For a level q the predicted quantile is the smallest simulated value v with
F(v) ≥ q (``numpy.quantile(..., method="inverted_cdf")``), and the window **exceeds** it when y > v.

If the model is right, exceedances of the q-quantile happen at a rate of at most 1 − q (exactly 1 − q for a
continuous F; a distribution with an atom at zero can make it smaller). Kupiec's proportion-of-failures
test compares the exceedance count x in n windows with the expected rate p = 1 − q::

    LR_pof = −2 ln[ (1 − p)^(n−x) p^x ] + 2 ln[ (1 − x/n)^(n−x) (x/n)^x ]   ~ χ²(1) under the model

and Christoffersen's independence test looks for clustered exceedances among consecutive windows.
Coverage is the share of windows with y ≤ v (the model's claim: at least q).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from riskgov.monitoring.domain.margin_policy import (
    IndependenceResult,
    KupiecResult,
    christoffersen_independence,
    kupiec_pof,
)

DEFAULT_LEVELS = (0.90, 0.95, 0.99)

FloatArray = NDArray[np.float64]


def predicted_quantiles(bad_debt: FloatArray, levels: tuple[float, ...]) -> FloatArray:
    """The q-quantiles of simulated per-path bad debt: the smallest value with F(v) ≥ q, one per level."""
    values = np.asarray(bad_debt, dtype=np.float64)
    if values.size == 0:
        raise ValueError("a predicted distribution needs at least one path")
    if not all(0.0 < level < 1.0 for level in levels):
        raise ValueError(f"levels must lie strictly between 0 and 1, got {levels}")
    return np.quantile(values, np.asarray(levels, dtype=np.float64), method="inverted_cdf")


def predicted_probability_at_most(bad_debt: FloatArray, realised: float) -> float:
    """F(y): the share of simulated paths with bad debt at most the realised value."""
    values = np.asarray(bad_debt, dtype=np.float64)
    return float(np.count_nonzero(values <= realised) / values.size)


@dataclass(frozen=True)
class LevelBacktest:
    """The backtest of one quantile level over all observed windows."""

    level: float
    observations: int
    exceedances: int
    kupiec: KupiecResult
    independence: IndependenceResult

    @property
    def expected_rate(self) -> float:
        return 1.0 - self.level

    @property
    def exceedance_rate(self) -> float:
        return self.exceedances / self.observations if self.observations else 0.0

    @property
    def coverage(self) -> float:
        """Share of windows whose realised bad debt stayed at or below the predicted quantile."""
        return 1.0 - self.exceedance_rate if self.observations else 0.0


def exceedance_flags(realised: FloatArray, quantiles: FloatArray) -> NDArray[np.bool_]:
    """``(windows, levels)`` flags: realised bad debt strictly above the window's predicted quantile."""
    y = np.asarray(realised, dtype=np.float64)
    q = np.asarray(quantiles, dtype=np.float64)
    if q.ndim != 2 or q.shape[0] != y.shape[0]:  # noqa: PLR2004 - windows × levels
        raise ValueError(f"quantiles must be (windows, levels) with {y.shape[0]} windows, got {q.shape}")
    return y[:, None] > q


def coverage_backtest(
    realised: FloatArray,
    quantiles: FloatArray,
    levels: tuple[float, ...],
    adjacent: NDArray[np.bool_] | None = None,
) -> list[LevelBacktest]:
    """Kupiec POF and Christoffersen independence per level.

    `realised` is one bad debt per window (quote units), `quantiles` the windows' predicted quantiles
    (windows × levels), `adjacent[i]` says window i + 1 directly follows window i (gaps break the pairs).
    """
    flags = exceedance_flags(realised, quantiles)
    results = []
    for index, level in enumerate(levels):
        column = flags[:, index]
        results.append(
            LevelBacktest(
                level=level,
                observations=int(column.size),
                exceedances=int(column.sum()),
                kupiec=kupiec_pof(int(column.size), int(column.sum()), 1.0 - level),
                independence=christoffersen_independence(column, adjacent),
            )
        )
    return results
