"""Deterministic stress scenarios: a named price shock over time, optionally on top of a random model.

A scenario is a list of waypoints (hours from now, fractional price change from today), e.g.
(12, −0.30) = 30 % below today's price twelve hours in. The change at each oracle step is
interpolated linearly between waypoints and held at the last one; market m moves by
`beta[m] ×` the scenario change (floored at −99 %). Without a `base` model every path is the
same deterministic path; with one, the base model's paths are multiplied by (1 + change).

`ScenarioPath` is the general form a run freezes: per-market changes at given hours, built from a shock's
waypoints and betas (`shock_changes`) or from a window of stored prices (`replay_changes`); the scenario
library itself is data (the insurance app's `Scenario` rows), not these constants.

The named scenarios echo well-known crypto market episodes. Their magnitudes and timings are
rounded approximations of what large assets did, not reconstructions of any venue's prices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .inputs import MarketSpec, SimulationConfig, market_vector
from .models import FloatArray, PriceModel

Waypoints = tuple[tuple[float, float], ...]
WAYPOINTS_NDIM = 2  # one row per waypoint
WAYPOINT_FIELDS = 2  # each row is (hours, change)

NAMED_SCENARIOS: dict[str, tuple[str, Waypoints]] = {
    "march_2020": (
        "2020-03-12-like crash: about −45 % within a day, most of it in a few hours, no rebound.",
        ((0.0, 0.0), (8.0, -0.12), (12.0, -0.30), (20.0, -0.45), (24.0, -0.45)),
    ),
    "may_2022": (
        "2022-05-like cascade: a stablecoin de-peg drags the market down in waves, about −35 % over a week.",
        ((0.0, 0.0), (24.0, -0.08), (48.0, -0.12), (72.0, -0.22), (120.0, -0.30), (168.0, -0.35)),
    ),
    "november_2022": (
        "Exchange-collapse-like selloff: about −25 % within eight hours, little rebound.",
        ((0.0, 0.0), (4.0, -0.10), (8.0, -0.25), (24.0, -0.22)),
    ),
    "flash_crash": (
        "Flash crash: −30 % within an hour, back to −5 % four hours later (probes liquidation delay).",
        ((0.0, 0.0), (1.0, -0.30), (4.0, -0.05)),
    ),
}


@dataclass(frozen=True, eq=False)
class StressScenario:
    """A deterministic price shock; see the module docstring. Changes are fractions (−0.45 = −45 %)."""

    name: str
    waypoints: Waypoints
    description: str = ""
    betas: ArrayLike | None = None
    base: PriceModel | None = None

    @classmethod
    def named(cls, name: str, *, betas: ArrayLike | None = None, base: PriceModel | None = None) -> StressScenario:
        """One of NAMED_SCENARIOS, optionally scaled per market and overlaid on a random model."""
        if name not in NAMED_SCENARIOS:
            raise ValueError(f"name must be one of {sorted(NAMED_SCENARIOS)}, got {name!r}")
        description, waypoints = NAMED_SCENARIOS[name]
        return cls(name=name, waypoints=waypoints, description=description, betas=betas, base=base)

    def validate(self, markets: Sequence[MarketSpec], config: SimulationConfig) -> None:
        points = np.asarray(self.waypoints, dtype=np.float64)
        if points.ndim != WAYPOINTS_NDIM or points.shape[1] != WAYPOINT_FIELDS or len(points) == 0:
            raise ValueError("waypoints must be a non-empty sequence of (hours, change) pairs")
        if not np.all(np.isfinite(points)):
            raise ValueError("waypoints must be finite")
        if np.any(np.diff(points[:, 0]) <= 0) or points[0, 0] < 0:
            raise ValueError("waypoints must have non-negative, strictly increasing hours")
        if np.any(points[:, 1] <= -1.0):
            raise ValueError("waypoints changes must be > -1 (a price cannot fall 100 % or more)")
        self._betas(len(markets))
        if self.base is not None:
            self.base.validate(markets, config)

    def _betas(self, n_markets: int) -> FloatArray:
        if self.betas is None:
            return np.ones(n_markets)
        betas = np.asarray(self.betas, dtype=np.float64)
        if betas.shape != (n_markets,) or not np.all(np.isfinite(betas)):
            raise ValueError(f"betas must hold one finite number per market ({n_markets})")
        return betas

    def price_factors(self, n_markets: int, config: SimulationConfig) -> FloatArray:
        """(steps + 1, markets) multipliers of today's price implied by the scenario."""
        points = np.asarray(self.waypoints, dtype=np.float64)
        hours = np.arange(config.steps + 1) * config.step_hours
        change = np.interp(hours, points[:, 0], points[:, 1], left=points[0, 1], right=points[-1, 1])
        change[0] = 0.0  # today is today's price whatever the first waypoint says
        return np.maximum(1.0 + change[:, None] * self._betas(n_markets), 0.01)

    def generate(
        self,
        markets: Sequence[MarketSpec],
        config: SimulationConfig,
        rng: np.random.Generator,
        start: int,
        stop: int,
    ) -> FloatArray:
        factors = self.price_factors(len(markets), config)
        if self.base is None:
            today = market_vector(markets, "price")
            return np.broadcast_to(today * factors, (stop - start, *factors.shape)).copy()
        return self.base.generate(markets, config, rng, start, stop) * factors


def shock_changes(waypoints: Waypoints, betas: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """A shock's per-market path: (hours, changes) with changes[k, m] = betas[m] × waypoint change k.

    Interpolating these per market equals scaling the interpolated scenario change by the beta (as
    `StressScenario` does), because linear interpolation commutes with a constant factor.
    """
    points = np.asarray(waypoints, dtype=np.float64)
    factors = np.asarray(betas, dtype=np.float64)
    if points.ndim != WAYPOINTS_NDIM or points.shape[1] != WAYPOINT_FIELDS or len(points) == 0:
        raise ValueError("waypoints must be a non-empty sequence of (hours, change) pairs")
    if factors.ndim != 1:
        raise ValueError("betas must hold one number per market")
    return points[:, 0].copy(), points[:, 1][:, None] * factors[None, :]


def replay_changes(log_prices: ArrayLike, scale: float = 1.0) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """A replay's per-market path from an hourly grid of log prices (hours, markets), NaN where none.

    Row k is k hours after the first row. Each market's change at row k is (p_k / p_first)^scale − 1,
    i.e. its log return since its first price in the window, multiplied by `scale`: scale 1 replays the
    window as it was, 2 doubles every log move, 0.5 halves it. Hours without a price carry the last one
    (before a market's first price it is flat). Returns (hours, changes, covered) where covered[m] says
    whether market m has any price in the window; uncovered markets stay flat.
    """
    grid = np.array(log_prices, dtype=np.float64)
    if grid.ndim != WAYPOINTS_NDIM or grid.shape[0] == 0:
        raise ValueError("log_prices must be a non-empty (hours, markets) grid")
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    changes = np.zeros_like(grid)
    covered = np.zeros(grid.shape[1], dtype=bool)
    for market in range(grid.shape[1]):
        column = grid[:, market]
        seen = np.flatnonzero(np.isfinite(column))
        if len(seen) == 0:
            continue
        covered[market] = True
        # index of the last price at or before each hour (the first price before it)
        last = np.maximum.accumulate(np.where(np.isfinite(column), np.arange(len(column)), -1))
        filled = column[np.where(last < 0, seen[0], last)]
        changes[:, market] = np.expm1(scale * (filled - column[seen[0]]))
    return np.arange(grid.shape[0], dtype=np.float64), changes, covered


@dataclass(frozen=True, eq=False)
class ScenarioPath:
    """A scenario as frozen for a run: per-market price changes at given hours from today.

    `hours` (k,) strictly increasing from ≥ 0; `changes` (k, markets) fractions (−0.2 = −20 %). At each oracle
    step every market's change is interpolated linearly in time between the given hours and held at the last
    one; the price is today's × (1 + change), floored at 1 % of today's. Without `base` every path is this one
    path; with one, the base model's paths are multiplied by (1 + change).
    """

    name: str
    hours: ArrayLike
    changes: ArrayLike
    base: PriceModel | None = None

    def validate(self, markets: Sequence[MarketSpec], config: SimulationConfig) -> None:
        hours = np.asarray(self.hours, dtype=np.float64)
        changes = np.asarray(self.changes, dtype=np.float64)
        if hours.ndim != 1 or len(hours) == 0:
            raise ValueError("hours must be a non-empty sequence")
        if changes.shape != (len(hours), len(markets)):
            raise ValueError(
                f"changes must hold one row per hour and one column per market ({len(hours)} × {len(markets)}), "
                f"got {changes.shape}"
            )
        if not (np.all(np.isfinite(hours)) and np.all(np.isfinite(changes))):
            raise ValueError("hours and changes must be finite")
        if hours[0] < 0 or np.any(np.diff(hours) <= 0):
            raise ValueError("hours must be non-negative and strictly increasing")
        if np.any(changes <= -1.0):
            raise ValueError("changes must be > -1 (a price cannot fall 100 % or more)")
        if self.base is not None:
            self.base.validate(markets, config)

    def price_factors(self, n_markets: int, config: SimulationConfig) -> FloatArray:
        """(steps + 1, markets) multipliers of today's price."""
        hours = np.asarray(self.hours, dtype=np.float64)
        changes = np.asarray(self.changes, dtype=np.float64).reshape(len(hours), n_markets)
        at = np.arange(config.steps + 1) * config.step_hours
        change = np.column_stack(
            [np.interp(at, hours, changes[:, m], left=changes[0, m], right=changes[-1, m]) for m in range(n_markets)]
        ).reshape(len(at), n_markets)
        change[0] = 0.0  # today is today's price whatever the first row says
        return np.maximum(1.0 + change, 0.01)

    def generate(
        self,
        markets: Sequence[MarketSpec],
        config: SimulationConfig,
        rng: np.random.Generator,
        start: int,
        stop: int,
    ) -> FloatArray:
        factors = self.price_factors(len(markets), config)
        if self.base is None:
            today = market_vector(markets, "price")
            return np.broadcast_to(today * factors, (stop - start, *factors.shape)).copy()
        return self.base.generate(markets, config, rng, start, stop) * factors
