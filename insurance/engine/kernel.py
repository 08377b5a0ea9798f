"""Compiled liquidation mechanics over a block of price paths (see the package docstring).

Per path and market the kernel keeps frontiers into the ladder instead of per-position state:
longs `[long_flagged, end)` have been flagged and `[long_executed, end)` executed (shorts mirror
this from the bottom of their segment). A new flag search happens only when the price makes a new
running minimum (longs) or maximum (shorts), so a step costs O(markets) plus, per new
extreme, a galloping search from the old frontier (O(log of the positions newly flagged)), and each
execution band is summed exactly from the compensated prefix sums.

Paths are independent: `simulate_block` runs one block of paths with its own scratch state and
releases the GIL, so the caller runs blocks on as many threads as it likes and the outputs are the
same whatever the number of threads. A book without auto-deleveraging runs one market at a time over
all the block's paths (`_simulate_markets`): markets then do not interact, and one market's ladder stays in
the core's cache. With an "adl" market the loss waterfall of ``insurance.engine.adl`` runs after each step
across the markets, so such a block runs path by path (`_simulate_paths`); quantities ADL removes from the
book are subtracted from band sums through Fenwick trees. Both orders add the same terms in the same order:
their outputs agree bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .adl import fenwick_add, fenwick_clear, fenwick_range, haircut_bin, queue_best, queue_start

IMPACT_NONE = 0
IMPACT_LINEAR = 1
IMPACT_SQRT = 2
IMPACT_CAP = 0.99
SIDE_LONG = 0
SIDE_SHORT = 1
# columns of the packed prefix sums (see `pack_prefix`): quantity hi, lo, then bankruptcy value hi, lo
QUANTITY = 0
VALUE = 2


def pack_prefix(
    quantity_hi: NDArray[np.float64],
    quantity_lo: NDArray[np.float64],
    value_hi: NDArray[np.float64],
    value_lo: NDArray[np.float64],
) -> NDArray[np.float64]:
    """The ladder's four prefix-sum arrays side by side, (n, 4): a band sum reads one cache line per end."""
    return np.ascontiguousarray(np.stack([quantity_hi, quantity_lo, value_hi, value_lo], axis=1))


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
def _gallop_right(values: NDArray[np.float64], lo: int, hi: int, x: float) -> int:
    """`_search_right` for an answer expected near `hi`: doubling steps down from hi, then bisection.

    A new running minimum is usually just below the last one, so the flag frontier moves by a few
    positions: this costs O(log distance moved) reads close to the frontier instead of O(log n) over
    the whole segment. Same result as `_search_right(values, lo, hi, x)`.
    """
    upper = hi
    step = 1
    while True:
        probe = hi - step
        if probe < lo:
            lower = lo
            break
        if values[probe] <= x:
            lower = probe + 1
            break
        upper = probe
        step <<= 1
    return _search_right(values, lower, upper, x)


@njit(cache=True, inline="always")
def _gallop_left(values: NDArray[np.float64], lo: int, hi: int, x: float) -> int:
    """`_search_left` for an answer expected near `lo` (the short-side mirror of `_gallop_right`)."""
    lower = lo
    step = 1
    while True:
        probe = lo + step - 1
        if probe >= hi:
            upper = hi
            break
        if values[probe] >= x:
            upper = probe
            break
        lower = probe + 1
        step <<= 1
    return _search_left(values, lower, upper, x)


@njit(cache=True, inline="always")
def _band(prefix: NDArray[np.float64], column: int, a: int, b: int, g: int) -> float:
    """Sum over ladder positions [a, b) of segment g from the double-double prefix sums in
    prefix[:, column] (hi) and prefix[:, column + 1] (lo)."""
    if a >= b:
        return 0.0
    return (prefix[b + g, column] - prefix[a + g, column]) + (prefix[b + g, column + 1] - prefix[a + g, column + 1])


@njit(cache=True, inline="always")
def _open_band(
    prefix: NDArray[np.float64],
    column: int,
    removed: NDArray[np.float64] | None,
    a: int,
    b: int,
    g: int,
) -> float:
    """Band sum of what is still open: the ladder's sum minus what ADL removed from [a, b).

    Without ADL `removed` is None, and numba compiles the subtraction away.
    """
    total = _band(prefix, column, a, b, g)
    if removed is not None and a < b:
        total -= fenwick_range(removed, a, b)
    return total


@njit(cache=True, inline="always")
def _execute(
    prefix: NDArray[np.float64],
    bankruptcy: NDArray[np.float64],
    removed_quantity: NDArray[np.float64] | None,
    removed_value: NDArray[np.float64] | None,
    pen: float,
    price: float,
    impact: float,
    la: int,
    lb: int,
    sa: int,
    sb: int,
    g_long: int,
    g_short: int,
) -> tuple[float, float, int, int]:
    """Execute the due longs [la, lb) and shorts [sa, sb) of one market at `price` with `impact`.

    Returns (bad debt, penalty income, where the long band's bankrupt part begins, where the short
    band's bankrupt part ends): longs [long_j2, lb) and shorts [sa, short_j2) were bankrupt.
    """
    bad_debt = 0.0
    income = 0.0
    long_j2 = lb
    short_j2 = sa
    if la < lb:
        x = price * (1.0 - impact)
        j2 = _search_right(bankruptcy, la, lb, x)
        j1 = _search_right(bankruptcy, la, j2, x * (1.0 - pen))
        # [j2, lb): bankrupt at x; [j1, j2): equity below the penalty; [la, j1): full penalty
        bad_debt += max(
            0.0,
            _open_band(prefix, VALUE, removed_value, j2, lb, g_long)
            - x * _open_band(prefix, QUANTITY, removed_quantity, j2, lb, g_long),
        )
        income += max(
            0.0,
            x * _open_band(prefix, QUANTITY, removed_quantity, j1, j2, g_long)
            - _open_band(prefix, VALUE, removed_value, j1, j2, g_long),
        )
        income += pen * x * _open_band(prefix, QUANTITY, removed_quantity, la, j1, g_long)
        long_j2 = j2
    if sa < sb:
        x = price * (1.0 + impact)
        j2 = _search_left(bankruptcy, sa, sb, x)
        j1 = _search_left(bankruptcy, j2, sb, x * (1.0 + pen))
        # [sa, j2): bankrupt at x; [j2, j1): equity below the penalty; [j1, sb): full penalty
        bad_debt += max(
            0.0,
            x * _open_band(prefix, QUANTITY, removed_quantity, sa, j2, g_short)
            - _open_band(prefix, VALUE, removed_value, sa, j2, g_short),
        )
        income += max(
            0.0,
            _open_band(prefix, VALUE, removed_value, j2, j1, g_short)
            - x * _open_band(prefix, QUANTITY, removed_quantity, j2, j1, g_short),
        )
        income += pen * x * _open_band(prefix, QUANTITY, removed_quantity, j1, sb, g_short)
        short_j2 = j2
    return bad_debt, income, long_j2, short_j2


@njit(cache=True)
def _impact(mode: int, coefficient: float, notional: float, depth: float) -> float:
    """Fractional price impact I of liquidating `notional` (quote) into `depth` (quote), capped."""
    if mode == IMPACT_NONE or notional <= 0.0:
        return 0.0
    ratio = notional / depth
    impact = coefficient * ratio if mode == IMPACT_LINEAR else coefficient * np.sqrt(ratio)
    return min(impact, IMPACT_CAP)


@njit(cache=True)
def _deleverage(
    m: int,
    needed: float,
    price: float,
    band_side: NDArray[np.int64],
    band_lo: NDArray[np.int64],
    band_hi: NDArray[np.int64],
    band_x: NDArray[np.float64],
    n_bands: int,
    segment_start: NDArray[np.int64],
    bankruptcy: NDArray[np.float64],
    quantity: NDArray[np.float64],
    by_entry: NDArray[np.int64],
    entry_sorted: NDArray[np.float64],
    slope: NDArray[np.float64],
    intercept: NDArray[np.float64],
    hull_line: NDArray[np.int64],
    hull_len: NDArray[np.int64],
    long_executed: int,
    short_executed: int,
    removed: NDArray[np.float64],
    haircut: NDArray[np.float64],
    removed_quantity: NDArray[np.float64],
    removed_value: NDArray[np.float64],
    removed_count: NDArray[np.float64],
    touched: NDArray[np.int64],
    n_touched: int,
    queue_values: NDArray[np.float64],
    queue_items: NDArray[np.int64],
) -> tuple[float, float, float, float, int]:
    """Deleverage market m's bankrupt positions of this step until winners have paid `needed` (quote).

    Returns (taken from winners, over-haircut, uncovered rest, ADL notional, touched count).
    """
    remaining = needed
    taken = 0.0
    notional = 0.0
    long_begin = segment_start[2 * m]
    short_begin = segment_start[2 * m + 1]
    short_end = segment_start[2 * m + 2]
    # winners of bankrupt longs: shorts in profit (entry above the price); of bankrupt shorts: longs below it
    query_lo = np.empty(2, dtype=np.int64)
    query_hi = np.empty(2, dtype=np.int64)
    closed_lo = np.empty(2, dtype=np.int64)
    closed_hi = np.empty(2, dtype=np.int64)
    query_lo[SIDE_SHORT] = _search_right(entry_sorted, short_begin, short_end, price)
    query_hi[SIDE_SHORT] = short_end
    closed_lo[SIDE_SHORT], closed_hi[SIDE_SHORT] = short_begin, short_executed
    query_lo[SIDE_LONG] = long_begin
    query_hi[SIDE_LONG] = _search_left(entry_sorted, long_begin, short_begin, price)
    closed_lo[SIDE_LONG], closed_hi[SIDE_LONG] = long_executed, short_begin
    queue_size = np.zeros(2, dtype=np.int64)
    queue_size[SIDE_SHORT] = queue_start(queue_values[SIDE_SHORT], queue_items[SIDE_SHORT], short_begin, short_end)
    queue_size[SIDE_LONG] = queue_start(queue_values[SIDE_LONG], queue_items[SIDE_LONG], long_begin, short_begin)
    side_exhausted = np.zeros(2, dtype=np.bool_)
    for b in range(n_bands):
        side = band_side[b]
        x = band_x[b]
        if side_exhausted[side]:
            continue
        ws = SIDE_SHORT if side == SIDE_LONG else SIDE_LONG
        count = band_hi[b] - band_lo[b]
        for i in range(count):
            j = band_hi[b] - 1 - i if side == SIDE_LONG else band_lo[b] + i
            left = quantity[j] - removed[j]
            if left <= 0.0:
                continue
            loss_per_unit = bankruptcy[j] - x if side == SIDE_LONG else x - bankruptcy[j]
            matched = 0.0
            while left > 0.0:
                k, size = queue_best(
                    queue_values[ws],
                    queue_items[ws],
                    queue_size[ws],
                    slope,
                    intercept,
                    hull_line,
                    hull_len,
                    by_entry,
                    quantity,
                    removed,
                    query_lo[ws],
                    query_hi[ws],
                    closed_lo[ws],
                    closed_hi[ws],
                    price,
                )
                queue_size[ws] = size
                if k < 0:
                    break
                w = by_entry[k]
                available = quantity[w] - removed[w]
                if removed[w] == 0.0:
                    touched[n_touched] = w
                    n_touched += 1
                if available <= left:
                    delta = available
                    removed[w] = quantity[w]
                    fenwick_add(removed_count, w, 1.0)
                else:
                    delta = left
                    removed[w] += delta
                fenwick_add(removed_quantity, w, delta)
                fenwick_add(removed_value, w, delta * bankruptcy[w])
                haircut[w] += delta * loss_per_unit
                notional += delta * bankruptcy[j]
                matched += delta
                left -= delta
            paid = matched * loss_per_unit
            taken += paid
            remaining -= paid
            if remaining <= 0.0:
                return taken, -remaining, 0.0, notional, n_touched
            if left > 0.0:
                # no winner left on the other side: this side's remaining bankrupt positions stay with the fund
                side_exhausted[side] = True
                break
    return taken, 0.0, max(remaining, 0.0), notional, n_touched


@njit(cache=True)
def _simulate_paths(
    path_begin: int,
    path_end: int,
    prices: NDArray[np.float64],
    segment_start: NDArray[np.int64],
    bankruptcy: NDArray[np.float64],
    liquidation: NDArray[np.float64],
    prefix: NDArray[np.float64],
    penalty: NDArray[np.float64],
    depth: NDArray[np.float64],
    impact_mode: int,
    impact_coefficient: float,
    cascade: bool,
    delay: int,
    max_rounds: int,
    fund_start: float,
    adl_market: NDArray[np.bool_],
    quantity: NDArray[np.float64],
    by_entry: NDArray[np.int64],
    entry_sorted: NDArray[np.float64],
    slope: NDArray[np.float64],
    intercept: NDArray[np.float64],
    hull_line: NDArray[np.int64],
    hull_len: NDArray[np.int64],
    haircut_edges: NDArray[np.float64],
    queue_capacity: int,
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
    adl_notional: NDArray[np.float64],
    adl_haircut: NDArray[np.float64],
    adl_over_haircut: NDArray[np.float64],
    adl_accounts: NDArray[np.int64],
    adl_haircut_max: NDArray[np.float64],
    adl_haircut_histogram: NDArray[np.int64],
) -> None:
    """Liquidate the ladder along paths [path_begin, path_end) of `prices`, path by path, with the loss
    waterfall of the "adl" markets after each step; write their outputs in place."""
    _, n_times, n_markets = prices.shape
    last = n_times - 1
    n_scratch = quantity.shape[0]
    running_min = np.empty(n_markets)
    running_max = np.empty(n_markets)
    displacement = np.empty(n_markets)
    long_flagged = np.empty(n_markets, dtype=np.int64)
    long_executed = np.empty(n_markets, dtype=np.int64)
    short_flagged = np.empty(n_markets, dtype=np.int64)
    short_executed = np.empty(n_markets, dtype=np.int64)
    long_history = np.empty((n_times, n_markets), dtype=np.int64)
    short_history = np.empty((n_times, n_markets), dtype=np.int64)
    step_bad_debt_by_market = np.zeros(n_markets)
    step_price = np.zeros(n_markets)
    market_notional = np.zeros(n_markets)
    band_capacity = 2 * max_rounds + 2
    band_side = np.zeros((n_markets, band_capacity), dtype=np.int64)
    band_lo = np.zeros((n_markets, band_capacity), dtype=np.int64)
    band_hi = np.zeros((n_markets, band_capacity), dtype=np.int64)
    band_x = np.zeros((n_markets, band_capacity))
    band_count = np.zeros(n_markets, dtype=np.int64)
    removed = np.zeros(n_scratch)
    haircut = np.zeros(n_scratch)
    removed_quantity = np.zeros(n_scratch + 1)
    removed_value = np.zeros(n_scratch + 1)
    removed_count = np.zeros(n_scratch + 1)
    touched = np.zeros(n_scratch, dtype=np.int64)
    queue_values = np.zeros((2, queue_capacity))
    queue_items = np.zeros((2, queue_capacity, 4), dtype=np.int64)
    for p in range(path_begin, path_end):
        for m in range(n_markets):
            running_min[m] = np.inf
            running_max[m] = -np.inf
            displacement[m] = 1.0
            long_flagged[m] = segment_start[2 * m + 1]
            long_executed[m] = segment_start[2 * m + 1]
            short_flagged[m] = segment_start[2 * m + 1]
            short_executed[m] = segment_start[2 * m + 1]
            market_notional[m] = 0.0
        fund = fund_start
        cumulative_net = 0.0
        worst_drawdown = 0.0
        uncovered = 0.0
        n_touched = 0
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
                step_bad_debt_by_market[m] = 0.0
                band_count[m] = 0
                if delay == 0 and running_min[m] <= price <= running_max[m]:
                    # no new extreme and nothing flagged earlier is pending: nothing executes in this market
                    step_price[m] = price
                    continue
                while True:
                    # flag: only a new running extreme can make more positions liquidatable
                    if price < running_min[m]:
                        running_min[m] = price
                        long_flagged[m] = _gallop_right(liquidation, long_begin, long_flagged[m], price)
                    if price > running_max[m]:
                        running_max[m] = price
                        short_flagged[m] = _gallop_left(liquidation, short_flagged[m], short_end, price)
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
                    long_quantity = _open_band(prefix, QUANTITY, removed_quantity, la, lb, g_long)
                    short_quantity = _open_band(prefix, QUANTITY, removed_quantity, sa, sb, g_short)
                    gross = price * (long_quantity + short_quantity)
                    impact = _impact(impact_mode, impact_coefficient, gross, depth[m])
                    market_bad_debt, market_penalty, long_j2, short_j2 = _execute(
                        prefix, bankruptcy, removed_quantity, removed_value, pen, price, impact,
                        la, lb, sa, sb, g_long, g_short,
                    )  # fmt: skip
                    if la < lb:
                        long_executed[m] = la
                        if long_j2 < lb:
                            c = band_count[m]
                            band_side[m, c], band_lo[m, c], band_hi[m, c] = SIDE_LONG, long_j2, lb
                            band_x[m, c] = price * (1.0 - impact)
                            band_count[m] = c + 1
                    if sa < sb:
                        short_executed[m] = sb
                        if sa < short_j2:
                            c = band_count[m]
                            band_side[m, c], band_lo[m, c], band_hi[m, c] = SIDE_SHORT, sa, short_j2
                            band_x[m, c] = price * (1.0 + impact)
                            band_count[m] = c + 1
                    bad_debt_by_market[p, m] += market_bad_debt
                    penalty_by_market[p, m] += market_penalty
                    step_bad_debt_by_market[m] += market_bad_debt
                    step_bad_debt += market_bad_debt
                    step_penalty += market_penalty
                    market_notional[m] += gross
                    executed_count = (lb - la if la < lb else 0) + (sb - sa if sa < sb else 0)
                    # positions ADL closed completely are no longer in the book
                    executed_count -= int(
                        fenwick_range(removed_count, la, lb) + fenwick_range(removed_count, sa, sb) + 0.5
                    )
                    liquidated_positions[p] += executed_count
                    if not cascade or impact == 0.0:
                        break
                    # sells (long liquidations) push the price down, buys (short ones) push it up
                    move = 1.0 - impact * (long_quantity - short_quantity) / (long_quantity + short_quantity)
                    price = price * move
                    displacement[m] = displacement[m] * move
                    rounds += 1
                    if rounds >= max_rounds:
                        break
                step_price[m] = price
                long_history[t, m] = long_flagged[m]
                short_history[t, m] = short_flagged[m]
            cumulative_net += step_penalty - step_bad_debt
            worst_drawdown = max(worst_drawdown, -cumulative_net)
            fund = fund + step_penalty - step_bad_debt
            if fund < 0.0:
                deficit = -fund
                fund = 0.0
                exhausted[p] = True
                if step_bad_debt > 0.0:
                    # the deficit falls on the markets pro rata to their bad debt in this step
                    share = deficit / step_bad_debt
                    deleveraged = 0.0
                    left_uncovered = 0.0
                    for m in range(n_markets):
                        needed = share * step_bad_debt_by_market[m]
                        if not adl_market[m] or needed <= 0.0:
                            continue
                        deleveraged += needed
                        taken, over, rest, notional, n_touched = _deleverage(
                            m,
                            needed,
                            step_price[m],
                            band_side[m],
                            band_lo[m],
                            band_hi[m],
                            band_x[m],
                            band_count[m],
                            segment_start,
                            bankruptcy,
                            quantity,
                            by_entry,
                            entry_sorted,
                            slope,
                            intercept,
                            hull_line,
                            hull_len,
                            long_executed[m],
                            short_executed[m],
                            removed,
                            haircut,
                            removed_quantity,
                            removed_value,
                            removed_count,
                            touched,
                            n_touched,
                            queue_values,
                            queue_items,
                        )
                        adl_haircut[p] += taken
                        adl_over_haircut[p] += over
                        adl_notional[p] += notional
                        left_uncovered += rest
                        fund += over  # winners paid more than the fund lacked: the rest stays in the fund
                    uncovered += (deficit - deleveraged) + left_uncovered if deleveraged > 0.0 else deficit
                else:
                    uncovered += deficit
            if record_fund_path:
                fund_path[p, t] = fund
        for m in range(n_markets):
            # summed per market first, as `_simulate_markets` does: the same notional bit for bit
            liquidated_notional[p] += market_notional[m]
        uncovered_loss[p] = uncovered
        fund_end[p] = fund
        required_fund[p] = worst_drawdown
        adl_accounts[p] = n_touched
        largest = 0.0
        for i in range(n_touched):
            w = touched[i]
            adl_haircut_histogram[p, haircut_bin(haircut_edges, haircut[w])] += 1
            largest = max(largest, haircut[w])
            removed[w] = 0.0
            haircut[w] = 0.0
            fenwick_clear(removed_quantity, w)
            fenwick_clear(removed_value, w)
            fenwick_clear(removed_count, w)
        adl_haircut_max[p] = largest


@njit(cache=True)
def _simulate_markets(
    prices: NDArray[np.float64],
    segment_start: NDArray[np.int64],
    bankruptcy: NDArray[np.float64],
    liquidation: NDArray[np.float64],
    prefix: NDArray[np.float64],
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
    """`_simulate_paths` for a book without auto-deleveraging, one market at a time.

    Without ADL a market's liquidations do not depend on the others' or on the fund, so each market
    runs over every path of the block before the next: the ladder of one market (its two segments)
    stays in the core's cache while its paths run, instead of every market's being read at every step.
    The fund then follows each path from the per-step sums, which add the markets in the same order
    as the path-major kernel does.
    """
    n_paths, n_times, n_markets = prices.shape
    last = n_times - 1
    step_bad_debt = np.zeros((n_paths, n_times))
    step_penalty = np.zeros((n_paths, n_times))
    long_history = np.empty(n_times, dtype=np.int64)
    short_history = np.empty(n_times, dtype=np.int64)
    for m in range(n_markets):
        g_long = 2 * m
        g_short = 2 * m + 1
        long_begin = segment_start[g_long]
        short_end = segment_start[g_short + 1]
        pen = penalty[m]
        market_depth = depth[m]
        for p in range(n_paths):
            running_min = np.inf
            running_max = -np.inf
            displacement = 1.0
            long_flagged = long_executed = short_flagged = short_executed = segment_start[g_short]
            market_bad_debt = 0.0
            market_penalty = 0.0
            notional = 0.0
            executed_count = 0
            for t in range(n_times):
                price = prices[p, t, m] * displacement
                if delay == 0 and running_min <= price <= running_max:
                    continue  # no new extreme and nothing flagged earlier is pending
                rounds = 0
                while True:
                    if price < running_min:
                        running_min = price
                        long_flagged = _gallop_right(liquidation, long_begin, long_flagged, price)
                    if price > running_max:
                        running_max = price
                        short_flagged = _gallop_left(liquidation, short_flagged, short_end, price)
                    if delay == 0 or t == last:
                        long_due, short_due = long_flagged, short_flagged
                    elif t >= delay:
                        long_due, short_due = long_history[t - delay], short_history[t - delay]
                    else:
                        long_due, short_due = long_executed, short_executed
                    la, lb = long_due, long_executed
                    sa, sb = short_executed, short_due
                    if la >= lb and sa >= sb:
                        break
                    long_quantity = _band(prefix, QUANTITY, la, lb, g_long)
                    short_quantity = _band(prefix, QUANTITY, sa, sb, g_short)
                    gross = price * (long_quantity + short_quantity)
                    impact = _impact(impact_mode, impact_coefficient, gross, market_depth)
                    bad_debt, income, _, _ = _execute(
                        prefix, bankruptcy, None, None, pen, price, impact,
                        la, lb, sa, sb, g_long, g_short,
                    )  # fmt: skip
                    if la < lb:
                        long_executed = la
                    if sa < sb:
                        short_executed = sb
                    market_bad_debt += bad_debt
                    market_penalty += income
                    step_bad_debt[p, t] += bad_debt
                    step_penalty[p, t] += income
                    notional += gross
                    executed_count += (lb - la if la < lb else 0) + (sb - sa if sa < sb else 0)
                    if not cascade or impact == 0.0:
                        break
                    # sells (long liquidations) push the price down, buys (short ones) push it up
                    move = 1.0 - impact * (long_quantity - short_quantity) / (long_quantity + short_quantity)
                    price = price * move
                    displacement = displacement * move
                    rounds += 1
                    if rounds >= max_rounds:
                        break
                long_history[t] = long_flagged
                short_history[t] = short_flagged
            bad_debt_by_market[p, m] += market_bad_debt
            penalty_by_market[p, m] += market_penalty
            liquidated_notional[p] += notional
            liquidated_positions[p] += executed_count
    for p in range(n_paths):
        fund = fund_start
        cumulative_net = 0.0
        worst_drawdown = 0.0
        uncovered = 0.0
        for t in range(n_times):
            cumulative_net += step_penalty[p, t] - step_bad_debt[p, t]
            worst_drawdown = max(worst_drawdown, -cumulative_net)
            fund = fund + step_penalty[p, t] - step_bad_debt[p, t]
            if fund < 0.0:
                uncovered += -fund
                fund = 0.0
                exhausted[p] = True
            if record_fund_path:
                fund_path[p, t] = fund
        uncovered_loss[p] = uncovered
        fund_end[p] = fund
        required_fund[p] = worst_drawdown


@njit(cache=True, nogil=True)
def simulate_block(
    prices: NDArray[np.float64],
    segment_start: NDArray[np.int64],
    bankruptcy: NDArray[np.float64],
    liquidation: NDArray[np.float64],
    prefix: NDArray[np.float64],
    penalty: NDArray[np.float64],
    depth: NDArray[np.float64],
    impact_mode: int,
    impact_coefficient: float,
    cascade: bool,
    delay: int,
    max_rounds: int,
    fund_start: float,
    adl_market: NDArray[np.bool_],
    quantity: NDArray[np.float64],
    by_entry: NDArray[np.int64],
    entry_sorted: NDArray[np.float64],
    slope: NDArray[np.float64],
    intercept: NDArray[np.float64],
    hull_line: NDArray[np.int64],
    hull_len: NDArray[np.int64],
    haircut_edges: NDArray[np.float64],
    queue_capacity: int,
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
    adl_notional: NDArray[np.float64],
    adl_haircut: NDArray[np.float64],
    adl_over_haircut: NDArray[np.float64],
    adl_accounts: NDArray[np.int64],
    adl_haircut_max: NDArray[np.float64],
    adl_haircut_histogram: NDArray[np.int64],
) -> None:
    """Liquidate the ladder along `prices` (paths, steps + 1, markets); write per-path outputs in place.

    Every path starts from a clean state, so a path's outputs do not depend on the block it is in.
    """
    any_adl = False
    for m in range(adl_market.shape[0]):
        any_adl = any_adl or adl_market[m]
    if not any_adl:
        _simulate_markets(
            prices,
            segment_start,
            bankruptcy,
            liquidation,
            prefix,
            penalty,
            depth,
            impact_mode,
            impact_coefficient,
            cascade,
            delay,
            max_rounds,
            fund_start,
            bad_debt_by_market,
            penalty_by_market,
            liquidated_notional,
            liquidated_positions,
            uncovered_loss,
            fund_end,
            exhausted,
            required_fund,
            fund_path,
            record_fund_path,
        )
        return
    _simulate_paths(
        0,
        prices.shape[0],
        prices,
        segment_start,
        bankruptcy,
        liquidation,
        prefix,
        penalty,
        depth,
        impact_mode,
        impact_coefficient,
        cascade,
        delay,
        max_rounds,
        fund_start,
        adl_market,
        quantity,
        by_entry,
        entry_sorted,
        slope,
        intercept,
        hull_line,
        hull_len,
        haircut_edges,
        queue_capacity,
        bad_debt_by_market,
        penalty_by_market,
        liquidated_notional,
        liquidated_positions,
        uncovered_loss,
        fund_end,
        exhausted,
        required_fund,
        fund_path,
        record_fund_path,
        adl_notional,
        adl_haircut,
        adl_over_haircut,
        adl_accounts,
        adl_haircut_max,
        adl_haircut_histogram,
    )
