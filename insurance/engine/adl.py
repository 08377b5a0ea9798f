"""Auto-deleveraging (ADL): who pays the bad debt the insurance fund cannot absorb, in an "adl" market.

Sources. dYdX Chain: "If the insurance fund becomes depleted, positions with the most profit and
leverage may be used to offset negative-balance accounts ... prioritizing accounts with a combination
of high profit and high leverage"; its worked example closes the offsetting position at the
underwater account's bankruptcy price (dYdX Chain docs, "Contract Loss Mechanisms" /
"Trading Core: Deleveraging"; help.dydx.exchange article 8581982; later dYdX docs say the offsetting
accounts are chosen at random). Hyperliquid: "the users on the opposite side of the position are ranked
by unrealized pnl and leverage used ... The specific sorting index ... is
(mark_price / entry_price) * (notional_position / account_value)" (Hyperliquid Docs, Trading,
"Auto-deleveraging"; Hyperliquid closes at the previous mark price, this engine closes at the
bankruptcy price as dYdX does).

Mechanics (per path, after the markets of step t, see the package docstring for the step itself).
If F_{t−1} + penalties_t − bad_debt_t < 0 the fund is exhausted and the deficit D is attributed to the
markets pro rata to their bad debt in the step, D_m = D · bad_debt_{t,m} / bad_debt_t. A "socialised"
market's D_m is uncovered loss. In an "adl" market the bankrupt positions of step t are deleveraged one
by one, in the order they executed (cascade round by round; longs before shorts; the most underwater
first: longs by descending, shorts by ascending bankruptcy price B), until their shortfalls cover D_m.
A deleveraged bankrupt position is closed *whole* (as venues do), so its remaining quantity q is
matched against opposite-side positions in profit at the market's price P at the end of the step,
highest ranking index first (the Hyperliquid index above: longs (P/e)·(N/E), shorts (e/P)·(N/E), with
N = q·P and E the position's equity at P), each closed partially where a part suffices, at the bankrupt
position's bankruptcy price B. A winner closed by δ against a bankrupt position executed at x gives up
δ·|B − x|: the shortfall moves from the fund to the winners. Per path: ADL notional Σ δ·B, accounts hit
(distinct winners), each winner's haircut (Σ δ·|B − x| over the path), and the over-haircut: what the
winners paid beyond D_m (the last whole bankrupt position overshoots), which stays in the fund.
If the winners run out the rest of D_m is uncovered loss. A partly closed winner keeps its entry price
and the same share of its collateral, so its B, L and ranking index are unchanged; its closed part
leaves the book, so later liquidations of it see only what remains.

Data structure. The index is monotone in a line in P: longs maximise (P/e)·(N/E) = P²/(e·(P − B)),
i.e. minimise e·P − e·B; shorts maximise e/(B − P), i.e. minimise −P/e + B/e. Each market side's
positions are sorted once by entry price e (so "in profit", e < P for longs and e > P for shorts, is a
prefix or suffix) and a segment tree over that order stores at every node the lower envelope of its
positions' lines (slopes are monotone in e, so each envelope is built in linear time: O(n log n) once).
The winners of one deleveraging round (one market, one step, one price P) come from a best-first
search over that tree, kept for the round: a node's envelope minimum at P (binary search) bounds every
line in it, so popping nodes and lines from a heap in bound order yields the open positions of the
prefix/suffix in ranking order, O(log² n) per winner; closed or liquidated lines are skipped when they
surface, so each costs O(log n) once per round it would have ranked in. Quantities removed
by ADL are kept in Fenwick trees over the liquidation ladder, so execution bands stay exact range sums
(O(log n) each). Work per step is O(markets + log n) plus O(log² n) per winner hit and O(1) per
bankrupt position deleveraged (plus the lines skipped); per-path state is reset from the list of
touched positions, so a path's outcome never depends on chunking or on the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

# Haircut histogram: bin 0 is below 0.01 quote, then four bins per decade up to 1e10, then an overflow bin.
HAIRCUT_EDGES = np.logspace(-2.0, 10.0, 49)
HAIRCUT_BINS = len(HAIRCUT_EDGES) + 1


@njit(cache=True)
def haircut_bin(edges: NDArray[np.float64], value: float) -> int:
    """Number of edges <= value (np.searchsorted(edges, value, side="right"))."""
    lo, hi = 0, edges.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if edges[mid] <= value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _build_envelopes(
    slope: NDArray[np.float64],
    intercept: NDArray[np.float64],
    begin: int,
    end: int,
    hull_line: NDArray[np.int64],
    hull_len: NDArray[np.int64],
) -> None:
    """Lower envelopes of lines [begin, end) (slopes ascending) at every node of the halving tree."""
    stack_lo = np.empty(64, dtype=np.int64)
    stack_hi = np.empty(64, dtype=np.int64)
    stack_level = np.empty(64, dtype=np.int64)
    top = 0
    if end <= begin:
        return
    stack_lo[0], stack_hi[0], stack_level[0] = begin, end, 0
    top = 1
    while top > 0:
        top -= 1
        lo, hi, level = stack_lo[top], stack_hi[top], stack_level[top]
        # lines by descending slope: the envelope from P → −∞ to P → +∞
        size = 0
        for k in range(hi - 1, lo - 1, -1):
            a3, b3 = slope[k], intercept[k]
            if size > 0 and slope[hull_line[level, lo + size - 1]] == a3:
                if intercept[hull_line[level, lo + size - 1]] <= b3:
                    continue
                size -= 1
            while size > 1:
                k1 = hull_line[level, lo + size - 2]
                k2 = hull_line[level, lo + size - 1]
                a1, b1, a2, b2 = slope[k1], intercept[k1], slope[k2], intercept[k2]
                # the middle line never attains the minimum when (1, 3) cross left of (1, 2)
                if (b3 - b1) * (a1 - a2) <= (b2 - b1) * (a1 - a3):
                    size -= 1
                else:
                    break
            hull_line[level, lo + size] = k
            size += 1
        hull_len[level, lo] = size
        if hi - lo > 1:
            mid = (lo + hi) >> 1
            stack_lo[top], stack_hi[top], stack_level[top] = lo, mid, level + 1
            stack_lo[top + 1], stack_hi[top + 1], stack_level[top + 1] = mid, hi, level + 1
            top += 2


def tree_levels(longest_segment: int) -> int:
    """Levels of the halving tree over a segment of `longest_segment` lines."""
    levels = 1
    size = max(longest_segment, 1)
    while size > 1:
        size = (size + 1) // 2
        levels += 1
    return levels


def build_ranking(
    segment_start: NDArray[np.int64],
    entry: NDArray[np.float64],
    bankruptcy: NDArray[np.float64],
    adl_market: NDArray[np.bool_],
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray, NDArray]:
    """Per ADL market side: ladder positions in entry order, their lines and the envelope tree.

    entry/bankruptcy are in ladder order. Returns (by_entry, entry_sorted, slope, intercept, hull_line,
    hull_len), all flat over the ladder's segments (positions of other markets are left empty).
    """
    n = len(entry)
    by_entry = np.arange(n, dtype=np.int64)
    n_segments = len(segment_start) - 1
    longest = 0
    for g in range(n_segments):
        if adl_market[g // 2]:
            longest = max(longest, int(segment_start[g + 1] - segment_start[g]))
    if longest == 0:
        empty = np.zeros((0, 0), dtype=np.int64)
        return by_entry, entry.copy(), np.zeros(n), np.zeros(n), empty, empty
    for g in range(n_segments):
        a, b = int(segment_start[g]), int(segment_start[g + 1])
        if adl_market[g // 2] and b > a:
            local = np.lexsort((np.arange(a, b), entry[a:b]))
            by_entry[a:b] = a + local
    entry_sorted = entry[by_entry]
    bankrupt_sorted = bankruptcy[by_entry]
    is_long = np.zeros(n, dtype=np.bool_)
    for g in range(0, n_segments, 2):
        is_long[segment_start[g] : segment_start[g + 1]] = True
    # longs minimise e·P − e·B, shorts minimise −P/e + B/e (see the module docstring)
    slope = np.where(is_long, entry_sorted, -1.0 / entry_sorted)
    intercept = np.where(is_long, -entry_sorted * bankrupt_sorted, bankrupt_sorted / entry_sorted)
    levels = tree_levels(longest)
    hull_line = np.zeros((levels, n), dtype=np.int64)
    hull_len = np.zeros((levels, n), dtype=np.int64)
    for g in range(n_segments):
        a, b = int(segment_start[g]), int(segment_start[g + 1])
        if adl_market[g // 2] and b > a:
            _build_envelopes(slope, intercept, a, b, hull_line, hull_len)
    return by_entry, entry_sorted, slope, intercept, hull_line, hull_len


@njit(cache=True, inline="always")
def _envelope_min(
    slope: NDArray[np.float64],
    intercept: NDArray[np.float64],
    hull_line: NDArray[np.int64],
    level: int,
    lo: int,
    size: int,
    price: float,
) -> int:
    """The line of node (level, lo) whose value at `price` is smallest (values along an envelope are unimodal)."""
    left, right = 0, size - 1
    while left < right:
        mid = (left + right) >> 1
        k1 = hull_line[level, lo + mid]
        k2 = hull_line[level, lo + mid + 1]
        if slope[k1] * price + intercept[k1] > slope[k2] * price + intercept[k2]:
            left = mid + 1
        else:
            right = mid
    return hull_line[level, lo + left]


@njit(cache=True, inline="always")
def fenwick_add(tree: NDArray[np.float64], index: int, value: float) -> None:
    """Add `value` at position `index` (0-based) of a Fenwick tree of length n + 1."""
    i = index + 1
    while i < tree.shape[0]:
        tree[i] += value
        i += i & (-i)


@njit(cache=True, inline="always")
def fenwick_clear(tree: NDArray[np.float64], index: int) -> None:
    """Zero every node that an update at `index` touched (an exact reset, unlike subtracting)."""
    i = index + 1
    while i < tree.shape[0]:
        tree[i] = 0.0
        i += i & (-i)


@njit(cache=True, inline="always")
def fenwick_prefix(tree: NDArray[np.float64], index: int) -> float:
    """Sum of positions [0, index)."""
    total = 0.0
    i = index
    while i > 0:
        total += tree[i]
        i -= i & (-i)
    return total


@njit(cache=True, inline="always")
def fenwick_range(tree: NDArray[np.float64], a: int, b: int) -> float:
    """Sum of positions [a, b)."""
    if a >= b:
        return 0.0
    return fenwick_prefix(tree, b) - fenwick_prefix(tree, a)


STRADDLING = -1  # a queue entry's line for a node that straddles the query range (bound −∞)


def queue_capacity(hull_line: NDArray[np.int64], segment_start: NDArray[np.int64], adl_market: NDArray) -> int:
    """Heap entries one winner queue can need: a node is pushed at most once per round (at most 2·n nodes plus the
    root), with a margin of three times that."""
    longest = 0
    for g in range(len(segment_start) - 1):
        if adl_market[g // 2]:
            longest = max(longest, int(segment_start[g + 1] - segment_start[g]))
    return 6 * longest + 8 if hull_line.shape[0] else 1


@njit(cache=True, inline="always")
def _queue_push(
    values: NDArray[np.float64], items: NDArray[np.int64], size: int, value: float, line: int, a: int, b: int, c: int
) -> int:
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if values[parent] <= value:
            break
        values[i] = values[parent]
        items[i, 0], items[i, 1], items[i, 2], items[i, 3] = (
            items[parent, 0],
            items[parent, 1],
            items[parent, 2],
            items[parent, 3],
        )
        i = parent
    values[i] = value
    items[i, 0], items[i, 1], items[i, 2], items[i, 3] = line, a, b, c
    return size + 1


@njit(cache=True, inline="always")
def _queue_pop(values: NDArray[np.float64], items: NDArray[np.int64], size: int) -> int:
    size -= 1
    if size == 0:
        return 0
    value = values[size]
    line, a, b, c = items[size, 0], items[size, 1], items[size, 2], items[size, 3]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and values[child + 1] < values[child]:
            child += 1
        if values[child] >= value:
            break
        values[i] = values[child]
        items[i, 0], items[i, 1], items[i, 2], items[i, 3] = (
            items[child, 0],
            items[child, 1],
            items[child, 2],
            items[child, 3],
        )
        i = child
    values[i] = value
    items[i, 0], items[i, 1], items[i, 2], items[i, 3] = line, a, b, c
    return size


@njit(cache=True, inline="always")
def _queue_push_node(  # noqa: PLR0913, PLR0917 - compiled helper over flat arrays
    values: NDArray[np.float64],
    items: NDArray[np.int64],
    size: int,
    slope: NDArray[np.float64],
    intercept: NDArray[np.float64],
    hull_line: NDArray[np.int64],
    hull_len: NDArray[np.int64],
    lo: int,
    hi: int,
    level: int,
    query_lo: int,
    query_hi: int,
    price: float,
) -> int:
    """Push node (level, lo, hi) keyed by its envelope minimum at `price` with that line; a node straddling the query
    range is keyed −∞ (its children are pushed when it surfaces); one outside the range is not pushed."""
    if hi <= query_lo or lo >= query_hi:
        return size
    if lo >= query_lo and hi <= query_hi:
        k = _envelope_min(slope, intercept, hull_line, level, lo, hull_len[level, lo], price)
        return _queue_push(values, items, size, slope[k] * price + intercept[k], k, lo, hi, level)
    return _queue_push(values, items, size, -np.inf, STRADDLING, lo, hi, level)


@njit(cache=True)
def queue_start(values: NDArray[np.float64], items: NDArray[np.int64], begin: int, end: int) -> int:
    """A winner queue over the segment [begin, end): just its root. Returns the heap size."""
    if end <= begin:
        return 0
    return _queue_push(values, items, 0, -np.inf, STRADDLING, begin, end, 0)


@njit(cache=True)
def queue_best(  # noqa: PLR0913, PLR0917 - a compiled search over flat arrays takes them positionally
    values: NDArray[np.float64],
    items: NDArray[np.int64],
    size: int,
    slope: NDArray[np.float64],
    intercept: NDArray[np.float64],
    hull_line: NDArray[np.int64],
    hull_len: NDArray[np.int64],
    by_entry: NDArray[np.int64],
    quantity: NDArray[np.float64],
    removed: NDArray[np.float64],
    query_lo: int,
    query_hi: int,
    closed_lo: int,
    closed_hi: int,
    price: float,
) -> tuple[int, int]:
    """(entry-order index of the open line in [query_lo, query_hi) with the smallest value at `price`, heap size).

    Best-first over the envelope tree, kept between calls of one deleveraging round (same price and range).
    The heap holds disjoint nodes that together cover every line not yet taken, each keyed by its envelope
    minimum at `price` and holding that line, so the top node's line, when open, is the best open line; it
    stays on top until ADL has taken all of it. A node whose line is closed (taken, liquidated or deleveraged
    earlier on the path) is replaced by the siblings of the path down to that line, which cover the rest of
    the node: O(log n) pushes with an O(log n) envelope search each. −1 when no open line is left.
    """
    while size > 0:
        k, lo, hi, level = items[0, 0], items[0, 1], items[0, 2], items[0, 3]
        if k != STRADDLING:
            j = by_entry[k]
            if not (closed_lo <= j < closed_hi) and removed[j] < quantity[j]:
                return k, size
            size = _queue_pop(values, items, size)
            while hi - lo > 1:
                mid = (lo + hi) >> 1
                level += 1
                other_lo, other_hi = (mid, hi) if k < mid else (lo, mid)
                size = _queue_push_node(
                    values, items, size, slope, intercept, hull_line, hull_len, other_lo, other_hi, level, query_lo,
                    query_hi, price,
                )  # fmt: skip
                lo, hi = (lo, mid) if k < mid else (mid, hi)
            continue
        size = _queue_pop(values, items, size)
        if lo >= query_lo and hi <= query_hi:
            # the root of a queue lies inside the range (or is one line): key it by its envelope minimum now
            size = _queue_push_node(
                values, items, size, slope, intercept, hull_line, hull_len, lo, hi, level, query_lo, query_hi, price
            )  # fmt: skip
            continue
        if hi <= query_lo or lo >= query_hi:
            continue
        mid = (lo + hi) >> 1  # a node straddling the range has two lines or more
        for child_lo, child_hi in ((lo, mid), (mid, hi)):
            size = _queue_push_node(
                values, items, size, slope, intercept, hull_line, hull_len, child_lo, child_hi, level + 1, query_lo,
                query_hi, price,
            )  # fmt: skip
    return -1, size
