"""Impact of proposed margin parameters on today's open positions (vectorised over all positions).

Per changed market: positions and notional (quote units at the mark price) that become liquidatable
immediately under the proposed mmr, positions that fall below the proposed initial margin (including
the size-dependent add-on), positions above the proposed maximum leverage, and the change of maximum
leverage. "Newly" counts exclude positions already in that condition under the current parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from riskgov.markets.domain.exposure_aggregates import PositionArrays, leverage_and_distance
from riskgov.markets.models import MarginParameters
from riskgov.markets.selectors.exposure import open_position_arrays
from riskgov.markets.selectors.markets import MarketState, market_states

SIZE_MARGIN_UNIT = 1_000_000.0  # size_margin_slope is extra IMR per 1,000,000 quote notional above the base


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _effective_imr(values: Mapping[str, Decimal | None], notional: NDArray[np.float64]) -> NDArray[np.float64]:
    imr = np.full(notional.shape, float(values["imr"] or 0))
    base, slope = values.get("size_margin_base"), values.get("size_margin_slope")
    if base is not None and slope is not None:
        imr = imr + float(slope) * np.maximum(0.0, notional - float(base)) / SIZE_MARGIN_UNIT
    return imr


def _conditions(
    values: Mapping[str, Decimal | None],
    notional: NDArray[np.float64],
    equity: NDArray[np.float64],
    leverage: NDArray[np.float64],
) -> dict[str, NDArray[np.bool_]]:
    return {
        "liquidatable": equity < float(values["mmr"] or 0) * notional,
        "below_initial": equity < _effective_imr(values, notional) * notional,
        "above_max_leverage": leverage > float(values["max_leverage"] or np.inf),
    }


def _market_impact(
    state: MarketState, proposed: Mapping[str, Decimal | None], arrays: PositionArrays, mask: NDArray[np.bool_]
) -> dict[str, Any]:
    current: MarginParameters = state.parameters  # type: ignore[assignment]
    price = float(state.mark_price)  # type: ignore[arg-type]
    notional, equity, leverage, _ = leverage_and_distance(arrays.subset(mask))  # at the mark price
    before = _conditions(current.values(), notional, equity, leverage)
    after = _conditions(proposed, notional, equity, leverage)
    figures: dict[str, Any] = {}
    for name in before:
        newly = after[name] & ~before[name]
        figures[name] = {
            "current_count": int(before[name].sum()),
            "current_notional": float(notional[before[name]].sum()),
            "proposed_count": int(after[name].sum()),
            "proposed_notional": float(notional[after[name]].sum()),
            "new_count": int(newly.sum()),
            "new_notional": float(notional[newly].sum()),
        }
    return {
        "market": state.market.symbol,
        "mark_price": price,
        "positions": int(mask.sum()),
        "notional": float(notional.sum()),
        "max_leverage": {"current": _float(current.max_leverage), "proposed": _float(proposed["max_leverage"])},
        "mmr": {"current": _float(current.mmr), "proposed": _float(proposed["mmr"])},
        "imr": {"current": _float(current.imr), "proposed": _float(proposed["imr"])},
        **figures,
    }


def proposal_impact(changes: Mapping[str, Mapping[str, Decimal | None]]) -> dict[str, Any]:
    """Impact of `changes` ({market symbol: {field: new value}}) on open positions, as JSON-ready data.

    Markets without a mark price or parameters are listed under "unpriced" and skipped.
    """
    states = market_states()
    by_symbol = {s.market.symbol: s for s in states}
    arrays, market_ids = open_position_arrays(states)
    markets: list[dict[str, Any]] = []
    unpriced: list[str] = []
    for symbol in sorted(changes):
        state = by_symbol.get(symbol)
        if state is None or state.mark_price is None or state.parameters is None:
            unpriced.append(symbol)
            continue
        proposed = {**state.parameters.values(), **changes[symbol]}
        markets.append(_market_impact(state, proposed, arrays, market_ids == state.market.pk))
    totals = {
        name: {
            key: sum(m[name][key] for m in markets)
            for key in (
                "current_count",
                "current_notional",
                "proposed_count",
                "proposed_notional",
                "new_count",
                "new_notional",
            )
        }
        for name in ("liquidatable", "below_initial", "above_max_leverage")
    }
    return {"markets": markets, "totals": totals, "unpriced": unpriced}
