"""Compiled liquidation mechanics over a block of price paths (see the package docstring).

Per path and market the kernel keeps frontiers into the ladder instead of per-position state:
longs `[long_flagged, end)` have been flagged and `[long_executed, end)` executed (shorts mirror
this from the bottom of their segment). A new flag search happens only when the price makes a new
running minimum (longs) or maximum (shorts), so a step costs O(markets) plus O(log n) per new
extreme, and each execution band is summed exactly from the compensated prefix sums.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

IMPACT_NONE = 0
IMPACT_LINEAR = 1
IMPACT_SQRT = 2
IMPACT_CAP = 0.99


@njit(cache=True, inline="always")
def _search_right(values: NDArray[np.float64], lo: int, hi: int, x: float) -> int:
    """First index in [lo, hi) whose value is > x (hi if none); values sorted ascending."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _search_left(values: NDArray[np.float64], lo: int, hi: int, x: float) -> int:
    """First index in [lo, hi) whose value is >= x (hi if none); values sorted ascending."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _band(hi: NDArray[np.float64], lo: NDArray[np.float64], a: int, b: int, g: int) -> float:
    """Sum over ladder positions [a, b) of segment g from its double-double prefix sums."""
    if a >= b:
        return 0.0
    return (hi[b + g] - hi[a + g]) + (lo[b + g] - lo[a + g])


@njit(cache=True)
def _impact(mode: int, coefficient: float, notional: float, depth: float) -> float:
    """Fractional price impact I of liquidating `notional` (quote) into `depth` (quote), capped."""
    if mode == IMPACT_NONE or notional <= 0.0:
        return 0.0
    ratio = notional / depth
    impact = coefficient * ratio if mode == IMPACT_LINEAR else coefficient * np.sqrt(ratio)
    return min(impact, IMPACT_CAP)


@njit(cache=True)
def simulate_block(
    prices: NDArray[np.float64],
    segment_start: NDArray[np.int64],
    bankruptcy: NDArray[np.float64],
    liquidation: NDArray[np.float64],
    quantity_hi: NDArray[np.float64],
    quantity_lo: NDArray[np.float64],
    value_hi: NDArray[np.float64],
    value_lo: NDArray[np.float64],
    penalty: NDArray[np.float64],
    depth: NDArray[np.float64],
    impact_mode: int,
    impact_coefficient: float,
    cascade: bool,
    delay: int,
    max_rounds: int,
    fund_start: float,
    bad_debt_by_market: NDArray[np.float64],
    penalty_by_market: NDArray[np.float64],
    liquidated_notional: NDArray[np.float64],
    liquidated_positions: NDArray[np.int64],
    uncovered_loss: NDArray[np.float64],
    fund_end: NDArray[np.float64],
    exhausted: NDArray[np.bool_],
    required_fund: NDArray[np.float64],
    fund_path: NDArray[np.float64],
    record_fund_path: bool,
) -> None:
    """Liquidate the ladder along `prices` (paths, steps + 1, markets); write per-path outputs in place."""
    n_paths, n_times, n_markets = prices.shape
    last = n_times - 1
    running_min = np.empty(n_markets)
    running_max = np.empty(n_markets)
    displacement = np.empty(n_markets)
    long_flagged = np.empty(n_markets, dtype=np.int64)
    long_executed = np.empty(n_markets, dtype=np.int64)
    short_flagged = np.empty(n_markets, dtype=np.int64)
    short_executed = np.empty(n_markets, dtype=np.int64)
    long_history = np.empty((n_times, n_markets), dtype=np.int64)
    short_history = np.empty((n_times, n_markets), dtype=np.int64)
    for p in range(n_paths):
        for m in range(n_markets):
            running_min[m] = np.inf
            running_max[m] = -np.inf
            displacement[m] = 1.0
            long_flagged[m] = segment_start[2 * m + 1]
            long_executed[m] = segment_start[2 * m + 1]
            short_flagged[m] = segment_start[2 * m + 1]
            short_executed[m] = segment_start[2 * m + 1]
        fund = fund_start
        cumulative_net = 0.0
        worst_drawdown = 0.0
        uncovered = 0.0
        for t in range(n_times):
            step_bad_debt = 0.0
            step_penalty = 0.0
            for m in range(n_markets):
                g_long = 2 * m
                g_short = 2 * m + 1
                long_begin = segment_start[g_long]
                short_end = segment_start[g_short + 1]
                pen = penalty[m]
                price = prices[p, t, m] * displacement[m]
                rounds = 0
                while True:
                    # flag: only a new running extreme can make more positions liquidatable
                    if price < running_min[m]:
                        running_min[m] = price
                        long_flagged[m] = _search_right(liquidation, long_begin, long_flagged[m], price)
                    if price > running_max[m]:
                        running_max[m] = price
                        short_flagged[m] = _search_left(liquidation, short_flagged[m], short_end, price)
                    if delay == 0 or t == last:
                        long_due = long_flagged[m]
                        short_due = short_flagged[m]
                    elif t >= delay:
                        long_due = long_history[t - delay, m]
                        short_due = short_history[t - delay, m]
                    else:
                        long_due = long_executed[m]
                        short_due = short_executed[m]
                    la, lb = long_due, long_executed[m]
                    sa, sb = short_executed[m], short_due
                    if la >= lb and sa >= sb:
                        break
                    long_quantity = _band(quantity_hi, quantity_lo, la, lb, g_long)
                    short_quantity = _band(quantity_hi, quantity_lo, sa, sb, g_short)
                    gross = price * (long_quantity + short_quantity)
                    impact = _impact(impact_mode, impact_coefficient, gross, depth[m])
                    market_bad_debt = 0.0
                    market_penalty = 0.0
                    if la < lb:
                        x = price * (1.0 - impact)
                        j2 = _search_right(bankruptcy, la, lb, x)
                        j1 = _search_right(bankruptcy, la, j2, x * (1.0 - pen))
                        # [j2, lb): bankrupt at x; [j1, j2): equity below the penalty; [la, j1): full penalty
                        market_bad_debt += max(
                            0.0,
                            _band(value_hi, value_lo, j2, lb, g_long)
                            - x * _band(quantity_hi, quantity_lo, j2, lb, g_long),
                        )
                        market_penalty += max(
                            0.0,
                            x * _band(quantity_hi, quantity_lo, j1, j2, g_long)
                            - _band(value_hi, value_lo, j1, j2, g_long),
                        )
                        market_penalty += pen * x * _band(quantity_hi, quantity_lo, la, j1, g_long)
                        long_executed[m] = la
                    if sa < sb:
                        x = price * (1.0 + impact)
                        j2 = _search_left(bankruptcy, sa, sb, x)
                        j1 = _search_left(bankruptcy, j2, sb, x * (1.0 + pen))
                        # [sa, j2): bankrupt at x; [j2, j1): equity below the penalty; [j1, sb): full penalty
                        market_bad_debt += max(
                            0.0,
                            x * _band(quantity_hi, quantity_lo, sa, j2, g_short)
                            - _band(value_hi, value_lo, sa, j2, g_short),
                        )
                        market_penalty += max(
                            0.0,
                            _band(value_hi, value_lo, j2, j1, g_short)
                            - x * _band(quantity_hi, quantity_lo, j2, j1, g_short),
                        )
                        market_penalty += pen * x * _band(quantity_hi, quantity_lo, j1, sb, g_short)
                        short_executed[m] = sb
                    bad_debt_by_market[p, m] += market_bad_debt
                    penalty_by_market[p, m] += market_penalty
                    step_bad_debt += market_bad_debt
                    step_penalty += market_penalty
                    liquidated_notional[p] += gross
                    liquidated_positions[p] += (lb - la if la < lb else 0) + (sb - sa if sa < sb else 0)
                    if not cascade or impact == 0.0:
                        break
                    # sells (long liquidations) push the price down, buys (short ones) push it up
                    move = 1.0 - impact * (long_quantity - short_quantity) / (long_quantity + short_quantity)
                    price = price * move
                    displacement[m] = displacement[m] * move
                    rounds += 1
                    if rounds >= max_rounds:
                        break
                long_history[t, m] = long_flagged[m]
                short_history[t, m] = short_flagged[m]
            cumulative_net += step_penalty - step_bad_debt
            worst_drawdown = max(worst_drawdown, -cumulative_net)
            fund = fund + step_penalty - step_bad_debt
            if fund < 0.0:
                uncovered += -fund
                fund = 0.0
                exhausted[p] = True
            if record_fund_path:
                fund_path[p, t] = fund
        uncovered_loss[p] = uncovered
        fund_end[p] = fund
        required_fund[p] = worst_drawdown
