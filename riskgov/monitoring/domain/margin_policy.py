"""Volatility-scaled margin policy, its backtest and Kupiec's proportion-of-failures test (pure NumPy).

Inputs are hourly reference prices (quote per base); rates are fractions (0.05 = 5 %).

Volatility (RiskMetrics EWMA of log returns, per hour)::

    r_i   = ln(p_i / p_{i-1}) / sqrt(g_i)            g_i = hours between the two prices (gaps keep hourly variance)
    v_0   = seed variance (mean of r² over the window, or over the warm-up in a backtest)
    v_i   = λ · v_{i-1} + (1 − λ) · r_i²
    σ_1h  = sqrt(v_n)                                 σ_h = σ_1h · sqrt(h)       σ_annual = σ_1h · sqrt(8760)

What the policy covers: the **maintenance margin** protects the insurance fund. A position opened at the
MMR in force at time t is liquidated; the fund is hit only when the price moves against it by more than the
MMR before the liquidation completes, i.e. within the **liquidation horizon** h. The policy claims that
this happens with probability at most 1 − q per horizon window, for a target **confidence** q, for longs
and shorts alike (two-sided). The initial margin adds a buffer on top: IMR = MMR / ratio.

Margins, for a target confidence q and a liquidation horizon of h hours::

    z_q          = Φ⁻¹(1 − (1 − q) / 2)               two-sided: P(|move over h| > z_q·σ_h) = 1 − q
    IMR          = clamp(a · z_q · σ_h / ratio + b, floor, cap)    (static policy: IMR = clamp(b, floor, cap))
    MMR          = ratio · IMR                         = a · z_q · σ_h + ratio · b when unclamped
    max leverage = 1 / IMR rounded down to a step (1× above 10×, 0.5× from 2×, else 0.1×), never above 1 / IMR
    size add-on  = IMR(N) = IMR + slope · max(0, N − base) / 1,000,000          N: position notional, quote units
    OI cap       = depth · multiple                    depth: quote notional that moves the price about 1 %

With a = 1 and b = 0 the MMR is exactly the q-quantile of the absolute horizon move; a > 1 is a safety
multiple (fewer breaches than 1 − q), the floor and cap bound the IMR (and so the MMR = ratio · IMR).
Rates are rounded up to whole basis points so a rounded margin never falls below the rule.

Backtest — it counts exactly the event the policy claims to cover: at non-overlapping points t, t + h,
t + 2h … after a warm-up, the horizon move m = p(t + h) / p(t) − 1 breaches when |m| > MMR(t), the
maintenance margin in force at t (set from prices up to t only). With n windows, x breaches and the
policy's own expected rate p* = 1 − q, Kupiec's proportion-of-failures statistic is::

    LR_pof = −2 · ln[(1 − p*)^(n − x) · p*^x] + 2 · ln[(1 − x/n)^(n − x) · (x/n)^x]       (0 · ln 0 = 0)

χ²(1) under the hypothesis that the breach rate equals p*; p-value = P(χ²₁ > LR) = erfc(sqrt(LR / 2)).
Breaches of a policy that lags volatility cluster, so Christoffersen's independence test compares the
breach rate after a breach with the rate after none (n_ij = windows in state j after a window in state i,
counted only between adjacent windows; π₀ = n01/(n00+n01), π₁ = n11/(n10+n11), π = (n01+n11)/Σn)::

    LR_ind = −2 · ln[(1 − π)^(n00+n10) · π^(n01+n11)] + 2 · ln[(1 − π₀)^n00 · π₀^n01 · (1 − π₁)^n10 · π₁^n11]

χ²(1) under independence; conditional coverage LR_cc = LR_pof + LR_ind is χ²(2), p-value exp(−LR_cc / 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

FloatArray = NDArray[np.float64]

HOURS_PER_YEAR = 8760.0
RATE_STEP = Decimal("0.0001")
SIZE_ADDON_UNIT = 1_000_000.0
# Weight below which old returns no longer matter to the EWMA: sets how much history a recommendation reads.
EWMA_WEIGHT_TOLERANCE = 1e-4
MIN_RETURNS = 2  # a volatility needs at least two hourly returns
MIN_CONFIDENCE = 0.5  # a one-sided margin quantile below the median protects nothing
# max leverage is rounded down to whole multiples from 10x, to half multiples from 2x, to tenths below
WHOLE_STEP_FROM = Decimal("10")
HALF_STEP_FROM = Decimal("2")


@dataclass(frozen=True)
class PolicyCoefficients:
    """The numbers of a margin policy. `volatility_scaled` False is a static policy (IMR = clamp(b))."""

    volatility_scaled: bool
    a: float
    b: float
    ewma_lambda: float
    confidence: float
    horizon_hours: float
    imr_floor: float
    imr_cap: float
    mmr_ratio: float

    def __post_init__(self) -> None:
        if not 0.0 < self.ewma_lambda < 1.0:
            raise ValueError(f"ewma_lambda must be in (0, 1), got {self.ewma_lambda}")
        if not MIN_CONFIDENCE < self.confidence < 1.0:
            raise ValueError(f"confidence must be in (0.5, 1), got {self.confidence}")
        if self.horizon_hours <= 0:
            raise ValueError(f"horizon_hours must be positive, got {self.horizon_hours}")
        if not 0.0 < self.imr_floor <= self.imr_cap <= 1.0:
            raise ValueError(f"need 0 < floor ≤ cap ≤ 1, got floor {self.imr_floor}, cap {self.imr_cap}")
        if not 0.0 < self.mmr_ratio < 1.0:
            raise ValueError(f"mmr_ratio must be in (0, 1), got {self.mmr_ratio}")

    @property
    def z(self) -> float:
        return normal_quantile(self.confidence)

    @property
    def target_breach_rate(self) -> float:
        return 1.0 - self.confidence


def normal_quantile(confidence: float) -> float:
    """Two-sided standard-normal quantile: P(|Z| ≤ z) = confidence."""
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def ewma_lookback_hours(ewma_lambda: float, tolerance: float = EWMA_WEIGHT_TOLERANCE) -> int:
    """Hours of returns after which the remaining EWMA weight λⁿ is below `tolerance`."""
    return math.ceil(math.log(tolerance) / math.log(ewma_lambda))


def hourly_log_returns(hours: FloatArray, prices: FloatArray) -> FloatArray:
    """Log returns between consecutive prices, each divided by sqrt(hours apart) so gaps keep hourly variance.

    `hours` are strictly increasing timestamps in hours; `prices` positive.
    """
    if len(prices) < MIN_RETURNS:
        return np.empty(0)
    gaps = np.diff(hours)
    return np.diff(np.log(prices)) / np.sqrt(gaps)


def ewma_variance(returns: FloatArray, ewma_lambda: float, seed_variance: float) -> FloatArray:
    """v_i = λ·v_{i-1} + (1 − λ)·r_i² for every i, starting from v_{-1} = seed_variance (per-hour variance)."""
    if len(returns) == 0:
        return np.empty(0)
    squared = np.square(returns)
    filtered, _ = lfilter([1.0 - ewma_lambda], [1.0, -ewma_lambda], squared, zi=[ewma_lambda * seed_variance])
    return np.asarray(filtered, dtype=np.float64)


def ewma_volatility(returns: FloatArray, ewma_lambda: float) -> float:
    """Per-hour EWMA volatility after the last return, seeded with the mean squared return of `returns`."""
    if len(returns) == 0:
        raise ValueError("at least one return is needed to estimate volatility")
    seed = float(np.mean(np.square(returns)))
    return math.sqrt(float(ewma_variance(returns, ewma_lambda, seed)[-1]))


def initial_margin_rate(sigma_hourly: FloatArray | float, policy: PolicyCoefficients) -> FloatArray:
    """IMR = clamp(a·z_q·σ_h / ratio + b, floor, cap), σ_h = σ_1h·sqrt(horizon); element-wise.

    Sized so that the MMR (= ratio·IMR) covers the two-sided horizon move at confidence q when a = 1, b = 0.
    """
    sigma = np.asarray(sigma_hourly, dtype=np.float64)
    if policy.volatility_scaled:
        raw = policy.a * policy.z * sigma * math.sqrt(policy.horizon_hours) / policy.mmr_ratio + policy.b
    else:
        raw = np.full_like(sigma, policy.b)
    return np.clip(raw, policy.imr_floor, policy.imr_cap)


def round_rate_up(rate: FloatArray) -> FloatArray:
    """Rates rounded up to whole basis points (the same rounding `margin_rates` applies)."""
    return np.ceil(np.asarray(rate) * 10_000.0 - 1e-9) / 10_000.0


@dataclass(frozen=True)
class MarginRates:
    imr: Decimal
    mmr: Decimal
    max_leverage: Decimal


def leverage_step(raw_leverage: Decimal) -> Decimal:
    if raw_leverage >= WHOLE_STEP_FROM:
        return Decimal("1")
    if raw_leverage >= HALF_STEP_FROM:
        return Decimal("0.5")
    return Decimal("0.1")


def max_leverage_for(imr: Decimal) -> Decimal:
    """1/IMR rounded down to its step; exact Decimal arithmetic so max_leverage · imr ≤ 1 always holds."""
    raw = Decimal(1) / imr
    step = leverage_step(raw)
    return ((raw / step).to_integral_value(rounding=ROUND_FLOOR) * step).quantize(Decimal("0.1"))


def margin_rates(imr: float, mmr_ratio: float) -> MarginRates:
    """Rounded IMR, MMR = ratio·IMR (both up to whole bp, MMR kept below IMR) and max leverage."""
    imr_dec = Decimal(repr(float(imr))).quantize(RATE_STEP, rounding=ROUND_CEILING)
    mmr_dec = (imr_dec * Decimal(repr(float(mmr_ratio)))).quantize(RATE_STEP, rounding=ROUND_CEILING)
    if mmr_dec >= imr_dec:
        mmr_dec = imr_dec - RATE_STEP
    return MarginRates(imr=imr_dec, mmr=mmr_dec, max_leverage=max_leverage_for(imr_dec))


def size_adjusted_imr(imr: float, notional: FloatArray | float, base: float, slope: float) -> FloatArray:
    """IMR for positions of `notional` (quote units): slope extra IMR per 1,000,000 above `base`, at most 1."""
    extra = slope * np.maximum(0.0, np.asarray(notional, dtype=np.float64) - base) / SIZE_ADDON_UNIT
    return np.minimum(1.0, imr + extra)


def oi_cap_from_depth(depth: Decimal, multiple: Decimal) -> Decimal:
    """Open-interest cap per side: `multiple` × depth (quote units), whole units."""
    return (depth * multiple).quantize(Decimal("1"), rounding=ROUND_FLOOR)


@dataclass(frozen=True)
class VolatilityEstimate:
    sigma_hourly: float
    returns: int
    window_hours: float

    @property
    def sigma_annual(self) -> float:
        return self.sigma_hourly * math.sqrt(HOURS_PER_YEAR)


def estimate_volatility(hours: FloatArray, prices: FloatArray, ewma_lambda: float) -> VolatilityEstimate | None:
    """EWMA volatility of an hourly series; None with fewer than two returns."""
    returns = hourly_log_returns(hours, prices)
    if len(returns) < MIN_RETURNS:
        return None
    return VolatilityEstimate(
        sigma_hourly=ewma_volatility(returns, ewma_lambda),
        returns=len(returns),
        window_hours=float(hours[-1] - hours[0]),
    )


@dataclass(frozen=True)
class KupiecResult:
    observations: int
    breaches: int
    target_rate: float
    statistic: float
    p_value: float

    @property
    def breach_rate(self) -> float:
        return self.breaches / self.observations if self.observations else 0.0


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def kupiec_pof(observations: int, breaches: int, target_rate: float) -> KupiecResult:
    """Kupiec's proportion-of-failures likelihood ratio and its χ²(1) p-value (see the module docstring)."""
    n, x, p = observations, breaches, target_rate
    if not 0 <= x <= n:
        raise ValueError(f"breaches must be between 0 and observations, got {x} of {n}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"target_rate must be in (0, 1), got {p}")
    if n == 0:
        return KupiecResult(0, 0, p, 0.0, 1.0)
    observed = x / n
    null = _xlogy(n - x, 1.0 - p) + _xlogy(x, p)
    alternative = _xlogy(n - x, 1.0 - observed) + _xlogy(x, observed)
    statistic = max(0.0, -2.0 * (null - alternative))
    return KupiecResult(n, x, p, statistic, math.erfc(math.sqrt(statistic / 2.0)))


@dataclass(frozen=True)
class IndependenceResult:
    """Christoffersen's independence test on a breach sequence; n_ij counts adjacent window pairs i → j."""

    n00: int
    n01: int
    n10: int
    n11: int
    statistic: float
    p_value: float

    @property
    def rate_after_breach(self) -> float:
        return self.n11 / (self.n10 + self.n11) if self.n10 + self.n11 else 0.0

    @property
    def rate_after_no_breach(self) -> float:
        return self.n01 / (self.n00 + self.n01) if self.n00 + self.n01 else 0.0


def _log_likelihood(stay: int, move: int) -> float:
    """ln[(1 − π)^stay · π^move] at the maximum-likelihood π = move / (stay + move)."""
    total = stay + move
    if total == 0:
        return 0.0
    return _xlogy(stay, stay / total) + _xlogy(move, move / total)


def christoffersen_independence(
    breach: NDArray[np.bool_], adjacent: NDArray[np.bool_] | None = None
) -> IndependenceResult:
    """Christoffersen's likelihood ratio of a first-order Markov breach sequence against independence.

    `breach` is one flag per window in time order; `adjacent[i]` says window i + 1 directly follows window i
    (all True when omitted): pairs across a gap in the prices are not counted. χ²(1) p-value.
    """
    flags = np.asarray(breach, dtype=bool)
    if len(flags) < MIN_RETURNS:
        return IndependenceResult(0, 0, 0, 0, 0.0, 1.0)
    pairs = np.ones(len(flags) - 1, dtype=bool) if adjacent is None else np.asarray(adjacent, dtype=bool)
    before, after = flags[:-1][pairs], flags[1:][pairs]
    n00 = int(np.sum(~before & ~after))
    n01 = int(np.sum(~before & after))
    n10 = int(np.sum(before & ~after))
    n11 = int(np.sum(before & after))
    pooled = _log_likelihood(n00 + n10, n01 + n11)
    markov = _log_likelihood(n00, n01) + _log_likelihood(n10, n11)
    statistic = max(0.0, -2.0 * (pooled - markov))
    return IndependenceResult(n00, n01, n10, n11, statistic, math.erfc(math.sqrt(statistic / 2.0)))


@dataclass(frozen=True)
class ConditionalCoverage:
    """Christoffersen's conditional coverage: LR_pof + LR_ind, χ²(2)."""

    statistic: float
    p_value: float


def conditional_coverage(kupiec: KupiecResult, independence: IndependenceResult) -> ConditionalCoverage:
    statistic = kupiec.statistic + independence.statistic
    return ConditionalCoverage(statistic, math.exp(-statistic / 2.0))


def backtest_rejected(kupiec: KupiecResult, independence: IndependenceResult, level: float) -> bool:
    """True when the backtest is evidence that the policy under-covers at significance `level`.

    Too many breaches (rate above target, Kupiec p < level) or clustered breaches (independence p < level,
    breaching more often after a breach). Too few breaches means a conservative policy, not a rejection
    of loosening towards it.
    """
    too_many = kupiec.breach_rate > kupiec.target_rate and kupiec.p_value < level
    clustered = independence.rate_after_breach > independence.rate_after_no_breach and independence.p_value < level
    return too_many or clustered


@dataclass(frozen=True)
class BacktestResult:
    """Series (per input hour) and evaluation points of a backtest; rates are fractions."""

    hours: FloatArray
    sigma_hourly: FloatArray  # EWMA σ after each hour (NaN during warm-up)
    realised_volatility: FloatArray  # annualised, trailing window of returns (NaN until filled)
    imr: FloatArray  # recommended IMR in force after each hour
    mmr: FloatArray
    point_index: NDArray[np.int64]  # evaluation points (indices into hours)
    move: FloatArray  # horizon move from each point, fraction
    breach: NDArray[np.bool_]  # |move| > recommended MMR
    actual_breach: NDArray[np.bool_] | None  # |move| > actual MMR, when actual margins were given
    kupiec: KupiecResult
    actual_kupiec: KupiecResult | None
    independence: IndependenceResult
    conditional_coverage: ConditionalCoverage


def _realised_volatility(returns: FloatArray, window: int) -> FloatArray:
    out = np.full(len(returns) + 1, np.nan)
    if len(returns) >= window:
        cumulative = np.concatenate(([0.0], np.cumsum(np.square(returns))))
        mean_square = (cumulative[window:] - cumulative[:-window]) / window
        out[window:] = np.sqrt(mean_square * HOURS_PER_YEAR)
    return out


def backtest(
    hours: FloatArray,
    prices: FloatArray,
    policy: PolicyCoefficients,
    *,
    warmup_hours: int = 168,
    realised_window: int = 168,
    actual_mmr: FloatArray | None = None,
) -> BacktestResult:
    """Replay `policy` over an hourly price series and count horizon moves beyond the MMR in force at their start.

    `hours` strictly increasing (hours since any epoch), `prices` quote per base, `actual_mmr` the MMR in
    force at each hour (optional). The EWMA is seeded with the warm-up's mean squared return, and only
    information up to each point sets that point's margin (no look-ahead).
    """
    n = len(prices)
    if n != len(hours) or (actual_mmr is not None and len(actual_mmr) != n):
        raise ValueError("hours, prices and actual_mmr must have the same length")
    returns = hourly_log_returns(hours, prices)
    warmup = min(max(MIN_RETURNS, warmup_hours), max(len(returns), 0))
    sigma = np.full(n, np.nan)
    if len(returns) >= MIN_RETURNS:
        seed = float(np.mean(np.square(returns[:warmup])))
        variance = ewma_variance(returns, policy.ewma_lambda, seed)
        sigma[1:] = np.sqrt(variance)
        sigma[: warmup + 1] = np.nan
    with np.errstate(invalid="ignore"):
        imr = np.where(np.isnan(sigma), np.nan, round_rate_up(initial_margin_rate(np.nan_to_num(sigma), policy)))
        mmr = np.where(np.isnan(imr), np.nan, round_rate_up(imr * policy.mmr_ratio))
    horizon = policy.horizon_hours
    # Non-overlapping horizon windows from the first hour after the warm-up, matched by time (gaps skipped).
    start = hours[warmup + 1] if n > warmup + 1 else np.inf
    targets = np.arange(start, hours[-1] - horizon + 1e-9, horizon) if n else np.empty(0)
    point_index = np.searchsorted(hours, targets)
    end_index = np.searchsorted(hours, targets + horizon)
    valid = (
        (point_index < n)
        & (end_index < n)
        & np.isclose(hours[np.minimum(point_index, n - 1)], targets)
        & np.isclose(hours[np.minimum(end_index, n - 1)], targets + horizon)
    )
    point_index, end_index = point_index[valid].astype(np.int64), end_index[valid].astype(np.int64)
    point_index_ok = ~np.isnan(mmr[point_index])
    point_index, end_index = point_index[point_index_ok], end_index[point_index_ok]
    move = prices[end_index] / prices[point_index] - 1.0
    breach = np.abs(move) > mmr[point_index]
    target = policy.target_breach_rate
    kupiec = kupiec_pof(len(point_index), int(breach.sum()), target)
    adjacent = np.isclose(np.diff(hours[point_index]), horizon)
    independence = christoffersen_independence(breach, adjacent)
    actual_breach = None
    actual_kupiec = None
    if actual_mmr is not None:
        actual_at = actual_mmr[point_index]
        known = ~np.isnan(actual_at)
        actual_breach = np.abs(move) > np.where(known, actual_at, np.inf)
        actual_kupiec = kupiec_pof(int(known.sum()), int(actual_breach.sum()), target)
    return BacktestResult(
        hours=hours,
        sigma_hourly=sigma,
        realised_volatility=_realised_volatility(returns, realised_window),
        imr=imr,
        mmr=mmr,
        point_index=point_index,
        move=move,
        breach=breach,
        actual_breach=actual_breach,
        kupiec=kupiec,
        actual_kupiec=actual_kupiec,
        independence=independence,
        conditional_coverage=conditional_coverage(kupiec, independence),
    )
