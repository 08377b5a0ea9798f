"""Vectorised exposure aggregates over arrays of positions (NumPy, float64).

Inputs are per-position arrays: signed size (base units), entry price, collateral (quote units),
account index, and the mark price and maintenance margin rate of each position's market.
Notional figures are quote units at the mark price. "Within x of liquidation" counts positions
whose distance to liquidation is below x, so already-liquidatable positions are included.
Shocks move every price by the same fraction at once and report the equity shortfall
sum(max(0, −equity)) at the shocked price: bad debt if everything were liquidated there.

Liquidatable is E < mmr·N strictly, as on the positions page. Where float64 cannot tell (E within
rounding of mmr·N), the position is decided in Decimal from the shortest repr of each float, which
is the stored decimal itself for amounts of up to 15 significant digits (what imports accept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from riskgov.markets.domain.position_math import is_liquidatable

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

LEVERAGE_BIN_EDGES = (0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 20.0, 25.0, 50.0, 100.0)
NEAR_LIQUIDATION_BANDS = (0.05, 0.10, 0.20)
SHOCKS = (-0.50, -0.30, -0.20, -0.10, -0.05, 0.05, 0.10, 0.20, 0.30, 0.50)
LIQUIDATION_MAP_MOVES = tuple(round(m / 100, 2) for m in range(-50, 51, 2) if m != 0)
TOP_ACCOUNTS = 10
# |E − mmr·N| below this fraction of the terms' magnitude is left to the exact Decimal comparison
# (float64 rounding of E = C + s·(p − e) is a few units of 1e-16 of those terms).
BOUNDARY_TOLERANCE = 1e-12


@dataclass(frozen=True)
class PositionArrays:
    size: FloatArray
    entry_price: FloatArray
    collateral: FloatArray
    account: IntArray
    price: FloatArray
    mmr: FloatArray

    def __post_init__(self) -> None:
        n = len(self.size)
        for name in ("entry_price", "collateral", "account", "price", "mmr"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name}: length {len(getattr(self, name))} differs from size ({n})")

    def __len__(self) -> int:
        return len(self.size)

    def subset(self, mask: NDArray[np.bool_]) -> PositionArrays:
        return PositionArrays(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))


@dataclass
class ExposureAggregate:
    position_count: int
    account_count: int
    oi_long: float
    oi_short: float
    oi_long_size: float
    oi_short_size: float
    collateral: float
    leverage_p50: float | None
    leverage_p90: float | None
    leverage_p99: float | None
    leverage_histogram: dict[str, list[float | int | str]]
    top10_share: float | None
    hhi: float | None
    top_accounts: list[dict[str, float | int]]
    liquidatable_count: int
    liquidatable_notional: float
    near_liquidation: dict[str, dict[str, float]]
    shock_bad_debt: dict[str, float]
    liquidation_map: dict[str, list[float]] = field(default_factory=dict)


def leverage_and_distance(p: PositionArrays) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Notional, equity, leverage (inf when equity ≤ 0) and distance to liquidation per position."""
    quantity = np.abs(p.size)
    notional = quantity * p.price
    equity = p.collateral + p.size * (p.price - p.entry_price)
    with np.errstate(divide="ignore", invalid="ignore"):
        leverage = np.where(equity > 0, notional / equity, np.inf)
        side = np.sign(p.size)
        liquidation = (p.entry_price - p.collateral / p.size) / (1.0 - side * p.mmr)
        distance = np.where(
            side > 0,
            np.where(liquidation > 0, (p.price - liquidation) / p.price, np.inf),
            (liquidation - p.price) / p.price,
        )
    return notional, equity, leverage, distance


def liquidatable_mask(p: PositionArrays, notional: FloatArray, equity: FloatArray) -> NDArray[np.bool_]:
    """E < mmr·N per position; positions within float rounding of the boundary are decided exactly."""
    margin = p.mmr * notional
    mask = equity < margin
    scale = np.abs(p.collateral) + np.abs(p.size) * (p.price + p.entry_price)
    for i in np.flatnonzero(np.abs(equity - margin) <= BOUNDARY_TOLERANCE * scale):
        exact = (Decimal(repr(float(a[i]))) for a in (p.size, p.entry_price, p.collateral, p.price, p.mmr))
        mask[i] = is_liquidatable(*exact)
    return mask


def _percentile(values: FloatArray, q: float) -> float | None:
    if values.size == 0:
        return None
    return float(np.quantile(values, q, method="inverted_cdf"))


def _histogram(leverage: FloatArray) -> dict[str, list[float | int | str]]:
    edges = np.array((*LEVERAGE_BIN_EDGES, np.inf))
    counts, _ = np.histogram(np.where(np.isinf(leverage), np.finfo(float).max, leverage), bins=edges)
    labels = [f"{lo:g}–{hi:g}x" for lo, hi in pairwise(LEVERAGE_BIN_EDGES)]
    labels.append(f">{LEVERAGE_BIN_EDGES[-1]:g}x")
    return {"labels": list(labels), "counts": [int(c) for c in counts], "edges": list(LEVERAGE_BIN_EDGES)}


def _concentration(account: IntArray, notional: FloatArray) -> tuple[float | None, float | None, list]:
    if account.size == 0:
        return None, None, []
    accounts, inverse = np.unique(account, return_inverse=True)
    per_account = np.bincount(inverse, weights=notional)
    total = per_account.sum()
    if total <= 0:
        return None, None, []
    shares = per_account / total
    order = np.argsort(-per_account, kind="stable")[:TOP_ACCOUNTS]
    top = [{"account": int(accounts[i]), "notional": float(per_account[i]), "share": float(shares[i])} for i in order]
    return float(shares[order].sum()), float(np.sum(shares**2)), top


def _shock_bad_debt(p: PositionArrays) -> dict[str, float]:
    result = {}
    for shock in SHOCKS:
        shocked = p.price * (1.0 + shock)
        equity = p.collateral + p.size * (shocked - p.entry_price)
        result[f"{shock * 100:g}"] = float(np.sum(np.maximum(0.0, -equity)))
    return result


def _liquidation_map(p: PositionArrays, notional: FloatArray, distance: FloatArray) -> dict[str, list[float]]:
    """Cumulative notional (at today's price) liquidatable after each uniform price move."""
    longs = p.size > 0
    long_distance = np.sort(distance[longs])
    long_notional = notional[longs][np.argsort(distance[longs], kind="stable")]
    short_distance = np.sort(distance[~longs])
    short_notional = notional[~longs][np.argsort(distance[~longs], kind="stable")]
    long_cum = np.concatenate(([0.0], np.cumsum(long_notional)))
    short_cum = np.concatenate(([0.0], np.cumsum(short_notional)))
    moves, amounts = [], []
    for move in LIQUIDATION_MAP_MOVES:
        # A long liquidates on a fall of at least its distance; a short on a rise of at least its distance.
        if move < 0:
            amounts.append(float(long_cum[np.searchsorted(long_distance, -move, side="right")]))
        else:
            amounts.append(float(short_cum[np.searchsorted(short_distance, move, side="right")]))
        moves.append(move * 100)
    return {"moves_pct": moves, "notional": amounts}


def aggregate_exposure(p: PositionArrays) -> ExposureAggregate:
    """Every aggregate a snapshot stores, for the positions in `p` (one market or the protocol)."""
    notional, equity, leverage, distance = leverage_and_distance(p)
    longs = p.size > 0
    liquidatable = liquidatable_mask(p, notional, equity)
    top10, hhi, top = _concentration(p.account, notional)
    near = {
        f"{band * 100:g}": {
            "count": int(np.count_nonzero(distance < band)),
            "notional": float(notional[distance < band].sum()),
        }
        for band in NEAR_LIQUIDATION_BANDS
    }
    return ExposureAggregate(
        position_count=len(p),
        account_count=int(np.unique(p.account).size),
        oi_long=float(notional[longs].sum()),
        oi_short=float(notional[~longs].sum()),
        oi_long_size=float(p.size[longs].sum()),
        oi_short_size=float(-p.size[~longs].sum()),
        collateral=float(p.collateral.sum()),
        leverage_p50=_percentile(leverage, 0.50),
        leverage_p90=_percentile(leverage, 0.90),
        leverage_p99=_percentile(leverage, 0.99),
        leverage_histogram=_histogram(leverage),
        top10_share=top10,
        hhi=hhi,
        top_accounts=top,
        liquidatable_count=int(np.count_nonzero(liquidatable)),
        liquidatable_notional=float(notional[liquidatable].sum()),
        near_liquidation=near,
        shock_bad_debt=_shock_bad_debt(p),
        liquidation_map=_liquidation_map(p, notional, distance),
    )
