"""The liquidation ladder: each market's longs and shorts sorted by bankruptcy price, with prefix sums.

For a position with signed size s (q = |s|), entry e and collateral C, equity at price x is
`s·x − K` with K = s·e − C. Its bankruptcy price B = K / s and its liquidation price
L = B / (1 − mmr) (long) or B / (1 + mmr) (short) are monotone in each other, so one sort
serves both the liquidation check and the bad-debt / penalty split at the execution price.

Segment g = 2·m + side (side 0 = longs, 1 = shorts) occupies positions
`[segment_start[g], segment_start[g + 1])` of the flat arrays, sorted by ascending B.
Prefix sums of q and of the bankruptcy value |K| are stored as double-double (hi, lo) pairs
so that a band sum `prefix[b] − prefix[a]` is accurate relative to the band, not the book.
Prefix entry j of segment g (sum of its first j positions) lives at index `segment_start[g] + g + j`.

For markets whose loss waterfall is "adl" the ladder also holds the auto-deleveraging ranking
structure (positions in entry-price order and the envelope tree of ``insurance.engine.adl``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .adl import build_ranking
from .inputs import MarketSpec, Portfolio, market_vector


@njit(cache=True)
def _compensated_prefix(
    values: NDArray[np.float64], hi: NDArray[np.float64], lo: NDArray[np.float64], start: int
) -> None:
    """Write the prefix sums of `values` as hi + lo pairs into hi/lo[start : start + len + 1]."""
    running_hi = 0.0
    running_lo = 0.0
    hi[start] = 0.0
    lo[start] = 0.0
    for i in range(values.shape[0]):
        # TwoSum: exact error of the addition, accumulated in the low word
        total = running_hi + values[i]
        virtual = total - running_hi
        error = (running_hi - (total - virtual)) + (values[i] - virtual)
        running_hi = total
        running_lo += error
        hi[start + i + 1] = running_hi
        lo[start + i + 1] = running_lo


@dataclass(frozen=True)
class LiquidationLadder:
    """Sorted per-market, per-side position arrays; see the module docstring for the layout."""

    segment_start: NDArray[np.int64]
    bankruptcy_price: NDArray[np.float64]
    liquidation_price: NDArray[np.float64]
    quantity_hi: NDArray[np.float64]
    quantity_lo: NDArray[np.float64]
    bankruptcy_value_hi: NDArray[np.float64]
    bankruptcy_value_lo: NDArray[np.float64]
    position_index: NDArray[np.int64]
    quantity: NDArray[np.float64]
    adl_market: NDArray[np.bool_]
    by_entry: NDArray[np.int64]
    entry_sorted: NDArray[np.float64]
    line_slope: NDArray[np.float64]
    line_intercept: NDArray[np.float64]
    hull_line: NDArray[np.int64]
    hull_len: NDArray[np.int64]

    @property
    def n_markets(self) -> int:
        return (len(self.segment_start) - 1) // 2

    @property
    def n_positions(self) -> int:
        return len(self.position_index)


def build_ladder(portfolio: Portfolio, markets: Sequence[MarketSpec]) -> LiquidationLadder:
    """Sort the book into the ladder layout; O(n log n), done once per `simulate` call."""
    n_markets = len(markets)
    mmr = market_vector(markets, "mmr")
    size = portfolio.size
    quantity = np.abs(size)
    # bankruptcy value |K|: longs q·e − C, shorts q·e + C (quote units)
    is_long = size > 0
    bankruptcy_value = np.where(
        is_long,
        quantity * portfolio.entry_price - portfolio.collateral,
        quantity * portfolio.entry_price + portfolio.collateral,
    )
    bankruptcy = bankruptcy_value / quantity
    segment = 2 * portfolio.market + np.where(is_long, 0, 1)
    # one stable lexsort: by segment, then bankruptcy price, then original index for ties
    order = np.lexsort((np.arange(len(size)), bankruptcy, segment)).astype(np.int64)
    counts = np.bincount(segment, minlength=2 * n_markets)
    segment_start = np.zeros(2 * n_markets + 1, dtype=np.int64)
    np.cumsum(counts, out=segment_start[1:])
    sorted_bankruptcy = np.ascontiguousarray(bankruptcy[order])
    sorted_segment = segment[order]
    # L = B / (1 ∓ mmr): dividing a sorted array by one positive constant keeps it sorted
    divisor = np.where(sorted_segment % 2 == 0, 1.0 - mmr[sorted_segment // 2], 1.0 + mmr[sorted_segment // 2])
    liquidation = sorted_bankruptcy / divisor
    n_prefix = len(size) + 2 * n_markets
    quantity_hi = np.zeros(n_prefix)
    quantity_lo = np.zeros(n_prefix)
    value_hi = np.zeros(n_prefix)
    value_lo = np.zeros(n_prefix)
    sorted_quantity = np.ascontiguousarray(quantity[order])
    sorted_value = bankruptcy_value[order]
    for g in range(2 * n_markets):
        a, b = int(segment_start[g]), int(segment_start[g + 1])
        _compensated_prefix(np.ascontiguousarray(sorted_quantity[a:b]), quantity_hi, quantity_lo, a + g)
        _compensated_prefix(np.ascontiguousarray(sorted_value[a:b]), value_hi, value_lo, a + g)
    adl_market = np.array([market.loss_waterfall == "adl" for market in markets], dtype=np.bool_)
    by_entry, entry_sorted, slope, intercept, hull_line, hull_len = build_ranking(
        segment_start, np.ascontiguousarray(portfolio.entry_price[order]), sorted_bankruptcy, adl_market
    )
    return LiquidationLadder(
        segment_start=segment_start,
        bankruptcy_price=sorted_bankruptcy,
        liquidation_price=np.ascontiguousarray(liquidation),
        quantity_hi=quantity_hi,
        quantity_lo=quantity_lo,
        bankruptcy_value_hi=value_hi,
        bankruptcy_value_lo=value_lo,
        position_index=order,
        quantity=sorted_quantity,
        adl_market=adl_market,
        by_entry=by_entry,
        entry_sorted=np.ascontiguousarray(entry_sorted),
        line_slope=slope,
        line_intercept=intercept,
        hull_line=hull_line,
        hull_len=hull_len,
    )
