"""Validated engine inputs: the position book, per-market specs and the run configuration.

Units: sizes in base units (signed, > 0 long, < 0 short), prices in quote per base,
collateral and depth in quote units, rates and penalties as fractions (0.03 = 3 %),
volatility annualised as a fraction (0.8 = 80 % per year).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

ImpactMode = Literal["none", "linear", "sqrt"]
IMPACT_MODES: tuple[str, ...] = ("none", "linear", "sqrt")
LossWaterfall = Literal["socialised", "adl"]
LOSS_WATERFALLS: tuple[str, ...] = ("socialised", "adl")
DAYS_PER_YEAR = 365.0


def _as_vector(name: str, values: ArrayLike) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(f"{name} must be finite, got {array[bad]} at index {bad}")
    return array


def check_finite_scalar(
    name: str,
    value: float,
    *,
    minimum: float | None = None,
    strictly_positive: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return `value` as float or raise ValueError naming `name`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if math.isnan(number) or (math.isinf(number) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if strictly_positive and not number > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return number


@dataclass(frozen=True, eq=False)
class Portfolio:
    """Open isolated-margin positions, one entry per position.

    market: index into the `markets` list passed to `simulate` (int);
    size: signed size in base units (> 0 long, < 0 short, never 0);
    entry_price: quote per base (> 0); collateral: isolated collateral in quote units (>= 0).
    """

    market: NDArray[np.int64]
    size: NDArray[np.float64]
    entry_price: NDArray[np.float64]
    collateral: NDArray[np.float64]

    def __init__(self, market: ArrayLike, size: ArrayLike, entry_price: ArrayLike, collateral: ArrayLike) -> None:
        market_raw = _as_vector("market", market)
        if np.any(market_raw != np.round(market_raw)) or np.any(market_raw < 0):
            raise ValueError("market must hold non-negative integer market indices")
        size_v = _as_vector("size", size)
        entry_v = _as_vector("entry_price", entry_price)
        collateral_v = _as_vector("collateral", collateral)
        for name, array in (("size", size_v), ("entry_price", entry_v), ("collateral", collateral_v)):
            if len(array) != len(market_raw):
                raise ValueError(f"{name} has length {len(array)} but market has length {len(market_raw)}")
        if np.any(size_v == 0):
            raise ValueError(f"size must be non-zero (index {int(np.flatnonzero(size_v == 0)[0])})")
        if np.any(entry_v <= 0):
            raise ValueError(f"entry_price must be > 0 (index {int(np.flatnonzero(entry_v <= 0)[0])})")
        if np.any(collateral_v < 0):
            raise ValueError(f"collateral must be >= 0 (index {int(np.flatnonzero(collateral_v < 0)[0])})")
        object.__setattr__(self, "market", market_raw.astype(np.int64))
        object.__setattr__(self, "size", size_v)
        object.__setattr__(self, "entry_price", entry_v)
        object.__setattr__(self, "collateral", collateral_v)

    def __len__(self) -> int:
        return len(self.size)


@dataclass(frozen=True)
class MarketSpec:
    """One market: today's oracle price (quote per base) and its margin and liquidity parameters.

    mmr and liquidation_penalty are fractions of notional; volatility is annualised (fraction);
    depth is the quote notional at which linear impact equals `impact_coefficient` (inf = no impact).
    loss_waterfall says who pays bad debt the insurance fund cannot absorb: "socialised" (an uncovered
    loss) or "adl" (auto-deleveraging of opposite-side positions in profit, see ``insurance.engine.adl``).
    """

    symbol: str
    price: float
    mmr: float
    liquidation_penalty: float
    volatility: float = 0.0
    depth: float = math.inf
    loss_waterfall: LossWaterfall = "socialised"

    def __post_init__(self) -> None:
        check_finite_scalar("price", self.price, strictly_positive=True)
        mmr = check_finite_scalar("mmr", self.mmr, minimum=0.0)
        if mmr >= 1:
            raise ValueError(f"mmr must be < 1, got {self.mmr!r}")
        penalty = check_finite_scalar("liquidation_penalty", self.liquidation_penalty, minimum=0.0)
        if penalty >= 1:
            raise ValueError(f"liquidation_penalty must be < 1, got {self.liquidation_penalty!r}")
        check_finite_scalar("volatility", self.volatility, minimum=0.0)
        check_finite_scalar("depth", self.depth, strictly_positive=True, allow_inf=True)
        if self.loss_waterfall not in LOSS_WATERFALLS:
            raise ValueError(f"loss_waterfall must be one of {LOSS_WATERFALLS}, got {self.loss_waterfall!r}")


@dataclass(frozen=True)
class SimulationConfig:
    """Run shape: `paths` Monte-Carlo paths of `steps` oracle steps over `horizon_days` (calendar days).

    Step t = 0 is today; step t = steps is the horizon. impact_coefficient is dimensionless;
    liquidation_delay_steps counts oracle steps; chunk_size splits a run into worker tasks
    (it does not change any path: seeding is per block of ``BLOCK_PATHS``, see ``chunks``).
    """

    paths: int = 10_000
    steps: int = 96
    horizon_days: float = 4.0
    impact: ImpactMode = "sqrt"
    impact_coefficient: float = 1.0
    cascade: bool = False
    liquidation_delay_steps: int = 0
    max_cascade_rounds: int = 64
    chunk_size: int = 1_000
    record_fund_path: bool = True

    def __post_init__(self) -> None:
        for name in ("paths", "steps", "chunk_size", "max_cascade_rounds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        delay = self.liquidation_delay_steps
        if isinstance(delay, bool) or not isinstance(delay, int | np.integer) or delay < 0:
            raise ValueError(f"liquidation_delay_steps must be a non-negative integer, got {delay!r}")
        check_finite_scalar("horizon_days", self.horizon_days, strictly_positive=True)
        if self.impact not in IMPACT_MODES:
            raise ValueError(f"impact must be one of {IMPACT_MODES}, got {self.impact!r}")
        check_finite_scalar("impact_coefficient", self.impact_coefficient, minimum=0.0)

    @property
    def step_years(self) -> float:
        """Length of one oracle step in years (365-day year)."""
        return self.horizon_days / DAYS_PER_YEAR / self.steps

    @property
    def step_hours(self) -> float:
        """Length of one oracle step in hours."""
        return self.horizon_days * 24.0 / self.steps


def validate_markets(markets: Sequence[MarketSpec], portfolio: Portfolio) -> None:
    """Check the market list and that every position points at one of its markets."""
    if len(markets) == 0:
        raise ValueError("markets must not be empty")
    for index, market in enumerate(markets):
        if not isinstance(market, MarketSpec):
            raise ValueError(f"markets[{index}] must be a MarketSpec, got {type(market).__name__}")
    symbols = [market.symbol for market in markets]
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"markets must have unique symbols, got {symbols}")
    if len(portfolio) and int(portfolio.market.max()) >= len(markets):
        raise ValueError(f"market index {int(portfolio.market.max())} is out of range for {len(markets)} markets")


def market_vector(markets: Sequence[MarketSpec], attribute: str) -> NDArray[np.float64]:
    """One attribute of every market as a float array, in market order."""
    return np.array([float(getattr(market, attribute)) for market in markets], dtype=np.float64)
