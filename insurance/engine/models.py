"""Price models: each turns today's prices into (paths, steps + 1, markets) oracle price paths.

Index 0 along the step axis is today's `MarketSpec.price`. Volatility comes from each
`MarketSpec.volatility` (annualised fraction); time is measured in 365-day years, so one step
lasts `horizon_days / 365 / steps` years. `drift` is annualised and may be one number or one per market.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from .inputs import MarketSpec, SimulationConfig, check_finite_scalar, market_vector

FloatArray = NDArray[np.float64]
# Eigenvalues of a sample correlation matrix this far below zero are rounding, not indefiniteness.
PSD_TOLERANCE = 1e-10
# At or below this many degrees of freedom a Student-t variable has no finite variance.
STUDENT_T_NO_VARIANCE_DOF = 2
RETURNS_NDIM = 2  # bootstrap returns: one row per observation, one column per market


@runtime_checkable
class PriceModel(Protocol):
    """What `simulate` needs from a model."""

    def validate(self, markets: Sequence[MarketSpec], config: SimulationConfig) -> None:
        """Raise ValueError naming the argument when the model does not fit the markets/config."""

    def generate(
        self,
        markets: Sequence[MarketSpec],
        config: SimulationConfig,
        rng: np.random.Generator,
        start: int,
        stop: int,
    ) -> FloatArray:
        """Prices of global paths [start, stop) as (stop − start, steps + 1, markets), quote per base."""


def correlation_factor(correlation: ArrayLike | None, n_markets: int) -> FloatArray:
    """A matrix A with A·Aᵀ = correlation (read-only); raises ValueError naming `correlation` when it is invalid.

    Every block of a run asks for the same factor, so valid matrices are factorised once (kept by their bytes).
    """
    if correlation is None:
        return np.eye(n_markets)
    matrix = np.ascontiguousarray(correlation, dtype=np.float64)
    if matrix.shape != (n_markets, n_markets):
        raise ValueError(f"correlation must have shape ({n_markets}, {n_markets}), got {matrix.shape}")
    return _factorised(matrix.tobytes(), n_markets)


@functools.lru_cache(maxsize=64)
def _factorised(matrix_bytes: bytes, n_markets: int) -> FloatArray:
    matrix = np.frombuffer(matrix_bytes, dtype=np.float64).reshape(n_markets, n_markets)
    if not np.all(np.isfinite(matrix)):
        raise ValueError("correlation must be finite")
    if not np.allclose(matrix, matrix.T, atol=1e-12):
        raise ValueError("correlation must be symmetric")
    if not np.allclose(np.diag(matrix), 1.0, atol=1e-12):
        raise ValueError("correlation must have a unit diagonal")
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    if eigenvalues.min() < -PSD_TOLERANCE:
        raise ValueError(f"correlation is not positive semi-definite (smallest eigenvalue {eigenvalues.min():.3g})")
    try:
        factor = np.asarray(np.linalg.cholesky(matrix), dtype=np.float64)
    except np.linalg.LinAlgError:
        # singular but PSD (e.g. two perfectly correlated markets): symmetric square root instead
        factor = np.asarray(eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None)), dtype=np.float64)
    factor.flags.writeable = False  # shared by every caller of the cache
    return factor


def _per_market(name: str, value: float | ArrayLike, n_markets: int) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(n_markets, float(array))
    if array.shape != (n_markets,):
        raise ValueError(f"{name} must be a number or one value per market ({n_markets}), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


@njit(cache=True, nogil=True)
def _compound(
    steps: FloatArray, scale: FloatArray, offset: FloatArray, today: FloatArray, prices: FloatArray
) -> None:  # pragma: no cover - compiled
    """prices[p, 0] = today; prices[p, t + 1] = today·exp(Σ_{u≤t} (offset + scale·steps[p, u])), in step order."""
    n_paths, n_steps, n_markets = steps.shape
    total = np.empty(n_markets)
    for p in range(n_paths):
        for m in range(n_markets):
            total[m] = 0.0
            prices[p, 0, m] = today[m]
        for t in range(n_steps):
            for m in range(n_markets):
                total[m] += offset[m] + scale[m] * steps[p, t, m]
                prices[p, t + 1, m] = today[m] * np.exp(total[m])


def prices_from_log_returns(
    markets: Sequence[MarketSpec],
    log_returns: FloatArray,
    *,
    scale: FloatArray | None = None,
    offset: FloatArray | None = None,
) -> FloatArray:
    """Compound today's prices by log returns: (paths, steps, markets) → (paths, steps + 1, markets).

    The log return of a step is offset + scale·log_returns per market (default 0 and 1: the given returns);
    one compiled pass (affine map, running sum in step order, exp, scale) instead of several array passes.
    """
    n_paths, n_steps, n_markets = log_returns.shape
    prices = np.empty((n_paths, n_steps + 1, n_markets))
    _compound(
        np.ascontiguousarray(log_returns, dtype=np.float64),
        np.ones(n_markets) if scale is None else np.ascontiguousarray(scale, dtype=np.float64),
        np.zeros(n_markets) if offset is None else np.ascontiguousarray(offset, dtype=np.float64),
        market_vector(markets, "price"),
        prices,
    )
    return prices


@dataclass(frozen=True, eq=False)
class GBM:
    """Correlated geometric Brownian motion with E[S_t] = S_0·e^(drift·t).

    The log price moves by (drift − σ²/2)·Δt + σ·√Δt·Z per step, Z ~ N(0, correlation);
    drift is annualised (fraction), correlation is a markets × markets matrix (None = independent).
    """

    correlation: ArrayLike | None = None
    drift: float | ArrayLike = 0.0

    def validate(self, markets: Sequence[MarketSpec], config: SimulationConfig) -> None:
        correlation_factor(self.correlation, len(markets))
        _per_market("drift", self.drift, len(markets))

    def _innovations(
        self, markets: Sequence[MarketSpec], config: SimulationConfig, rng: np.random.Generator, n_paths: int
    ) -> FloatArray:
        factor = correlation_factor(self.correlation, len(markets))
        normals = rng.standard_normal((n_paths, config.steps, len(markets)))
        return normals @ factor.T

    def _log_drift(self, markets: Sequence[MarketSpec], config: SimulationConfig) -> FloatArray:
        sigma = market_vector(markets, "volatility")
        return (_per_market("drift", self.drift, len(markets)) - 0.5 * sigma**2) * config.step_years

    def generate(
        self,
        markets: Sequence[MarketSpec],
        config: SimulationConfig,
        rng: np.random.Generator,
        start: int,
        stop: int,
    ) -> FloatArray:
        sigma_step = market_vector(markets, "volatility") * np.sqrt(config.step_years)
        shocks = self._innovations(markets, config, rng, stop - start)
        return prices_from_log_returns(markets, shocks, scale=sigma_step, offset=self._log_drift(markets, config))


@dataclass(frozen=True, eq=False)
class StudentT(GBM):
    """Correlated fat-tailed returns: GBM with multivariate Student-t innovations of unit variance.

    Z = N(0, correlation)·√((ν − 2)/χ²_ν), one χ² draw per path and step shared by all markets.
    The log drift is the GBM one, (drift − σ²/2)·Δt; exp of a t variable has no mean, so the
    GBM identity E[S_t] = S_0·e^(drift·t) holds only in the Gaussian limit ν → ∞.
    """

    degrees_of_freedom: float = 4.0

    def validate(self, markets: Sequence[MarketSpec], config: SimulationConfig) -> None:
        super().validate(markets, config)
        nu = check_finite_scalar("degrees_of_freedom", self.degrees_of_freedom)
        if nu <= STUDENT_T_NO_VARIANCE_DOF:
            raise ValueError(
                f"degrees_of_freedom must be > {STUDENT_T_NO_VARIANCE_DOF} for a finite variance, got {nu}"
            )

    def _innovations(
        self, markets: Sequence[MarketSpec], config: SimulationConfig, rng: np.random.Generator, n_paths: int
    ) -> FloatArray:
        normals = super()._innovations(markets, config, rng, n_paths)
        nu = float(self.degrees_of_freedom)
        chi_square = rng.chisquare(nu, size=(n_paths, config.steps, 1))
        return normals * np.sqrt((nu - 2.0) / chi_square)


@dataclass(frozen=True, eq=False)
class MertonJump(GBM):
    """GBM plus compound-Poisson log-normal jumps, compensated so that E[S_t] = S_0·e^(drift·t).

    jump_intensity: expected jumps per year; jump_mean / jump_std: mean and standard deviation of
    the log jump size (−0.1 ≈ a −9.5 % jump). With shared_arrivals the jump times are common to all
    markets (a market-wide crash) while sizes are drawn per market; otherwise each market has its own.
    MarketSpec.volatility is the diffusive part only.
    """

    jump_intensity: float = 5.0
    jump_mean: float | ArrayLike = -0.05
    jump_std: float | ArrayLike = 0.05
    shared_arrivals: bool = True

    def validate(self, markets: Sequence[MarketSpec], config: SimulationConfig) -> None:
        super().validate(markets, config)
        check_finite_scalar("jump_intensity", self.jump_intensity, minimum=0.0)
        _per_market("jump_mean", self.jump_mean, len(markets))
        if np.any(_per_market("jump_std", self.jump_std, len(markets)) < 0):
            raise ValueError("jump_std must be >= 0")

    def generate(
        self,
        markets: Sequence[MarketSpec],
        config: SimulationConfig,
        rng: np.random.Generator,
        start: int,
        stop: int,
    ) -> FloatArray:
        n_paths, n_markets = stop - start, len(markets)
        sigma_step = market_vector(markets, "volatility") * np.sqrt(config.step_years)
        jump_mean = _per_market("jump_mean", self.jump_mean, n_markets)
        jump_std = _per_market("jump_std", self.jump_std, n_markets)
        compensator = self.jump_intensity * (np.exp(jump_mean + 0.5 * jump_std**2) - 1.0)
        shocks = self._innovations(markets, config, rng, n_paths)
        log_returns = (self._log_drift(markets, config) - compensator * config.step_years) + shocks * sigma_step
        arrivals_shape = (n_paths, config.steps, 1 if self.shared_arrivals else n_markets)
        counts = rng.poisson(self.jump_intensity * config.step_years, size=arrivals_shape).astype(np.float64)
        # the sum of n normal jump sizes is N(n·mean, n·std²)
        jump_normals = rng.standard_normal((n_paths, config.steps, n_markets))
        log_returns += counts * jump_mean + np.sqrt(counts) * jump_std * jump_normals
        return prices_from_log_returns(markets, log_returns)


@dataclass(frozen=True, eq=False)
class Bootstrap:
    """Historical bootstrap: per-step log returns (observations × markets) resampled jointly by row.

    Rows are drawn in blocks of `block_length` consecutive observations (wrapping around) to keep
    short-range dependence; whole rows keep the cross-market correlation. The returns must already
    be at the step frequency of the config. MarketSpec.volatility is not used.
    """

    returns: ArrayLike
    block_length: int = 1

    def validate(self, markets: Sequence[MarketSpec], config: SimulationConfig) -> None:
        returns = np.asarray(self.returns, dtype=np.float64)
        if returns.ndim != RETURNS_NDIM or returns.shape[1] != len(markets) or returns.shape[0] == 0:
            raise ValueError(f"returns must have shape (observations, {len(markets)}), got {returns.shape}")
        if not np.all(np.isfinite(returns)):
            raise ValueError("returns must be finite")
        if isinstance(self.block_length, bool) or int(self.block_length) != self.block_length or self.block_length < 1:
            raise ValueError(f"block_length must be a positive integer, got {self.block_length!r}")

    def generate(
        self,
        markets: Sequence[MarketSpec],
        config: SimulationConfig,
        rng: np.random.Generator,
        start: int,
        stop: int,
    ) -> FloatArray:
        returns = np.asarray(self.returns, dtype=np.float64)
        block = int(self.block_length)
        n_blocks = -(-config.steps // block)
        starts = rng.integers(0, returns.shape[0], size=(stop - start, n_blocks))
        rows = (starts[:, :, None] + np.arange(block)).reshape(stop - start, -1)[:, : config.steps]
        return prices_from_log_returns(markets, returns[rows % returns.shape[0]])


@dataclass(frozen=True, eq=False)
class ExplicitPaths:
    """Given prices (paths, steps + 1, markets), quote per base, index 0 = today; replays history exactly."""

    prices: ArrayLike

    def validate(self, markets: Sequence[MarketSpec], config: SimulationConfig) -> None:
        prices = np.asarray(self.prices, dtype=np.float64)
        expected = (config.paths, config.steps + 1, len(markets))
        if prices.shape != expected:
            raise ValueError(f"prices must have shape {expected} (paths, steps + 1, markets), got {prices.shape}")
        if not np.all(np.isfinite(prices)) or not np.all(prices > 0):
            raise ValueError("prices must be finite and > 0")

    def generate(
        self,
        markets: Sequence[MarketSpec],
        config: SimulationConfig,
        rng: np.random.Generator,
        start: int,
        stop: int,
    ) -> FloatArray:
        return np.array(np.asarray(self.prices, dtype=np.float64)[start:stop])
