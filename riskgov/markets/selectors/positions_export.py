"""The open-positions list as CSV rows: the filters and order of the page, every page, numbers written out.

Cells come from the one formatting layer (`riskgov.core.formatting`, rounded half up, no grouping, never an
exponent or 18 places): quote amounts to the cent, sizes and prices to eight decimals without trailing zeros,
rates and distances in percent with two decimals, leverage with two decimals, markets as BTC-USD. A figure
that does not exist (leverage of an underwater position, the liquidation price of a long that cannot be
liquidated) is an empty cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from riskgov.core.formatting import decimal_text, market_name
from riskgov.markets.selectors.markets import MarketState, market_states
from riskgov.markets.selectors.positions import LONG, PositionFilters, PositionRow, open_positions_page

EXPORT_PAGE_SIZE = 1000
CSV_HEADER = (
    "position",
    "account",
    "market",
    "side",
    "size",
    "entry_price",
    "mark_price",
    "notional_usd",
    "collateral_usd",
    "equity_usd",
    "unrealised_pnl_usd",
    "leverage",
    "margin_ratio_pct",
    "liquidation_price",
    "distance_to_liquidation_pct",
    "liquidatable",
    "opened_at",
)
MONEY_PLACES = 2  # quote amounts, percentages and leverage
FINE_PLACES = 8  # sizes and prices


def _cell(value: Decimal, places: int, *, strip_zeros: bool = False) -> str:
    """`value` rounded to `places` by the formatting layer, no grouping or exponent; "" when it is not finite."""
    if not value.is_finite():
        return ""
    return decimal_text(value, places, grouping=False, strip_zeros=strip_zeros) or ""


def money_cell(value: Decimal) -> str:
    return _cell(value, MONEY_PLACES)


def fine_cell(value: Decimal) -> str:
    return _cell(value, FINE_PLACES, strip_zeros=True)


def percent_cell(fraction: Decimal) -> str:
    return _cell(fraction * 100, MONEY_PLACES)


def position_csv_row(row: PositionRow) -> list[str]:
    risk = row.risk
    reachable = risk.liquidation_price > 0
    return [
        row.external_id,
        row.account_address,
        market_name(row.market),
        "long" if row.side == LONG else "short",
        fine_cell(row.size),
        fine_cell(row.entry_price),
        fine_cell(row.mark_price),
        money_cell(risk.notional),
        money_cell(row.collateral),
        money_cell(risk.equity),
        money_cell(row.unrealised_pnl),
        money_cell(risk.leverage),
        percent_cell(risk.margin_ratio),
        fine_cell(risk.liquidation_price) if reachable else "",
        percent_cell(risk.distance_to_liquidation) if risk.distance_to_liquidation.is_finite() else "",
        "yes" if risk.liquidatable else "no",
        row.opened_at.isoformat(),
    ]


def open_positions_csv_rows(
    *, filters: PositionFilters, states: list[MarketState] | None = None, page_size: int = EXPORT_PAGE_SIZE
) -> Iterator[list[str]]:
    """The header, then every open position matching `filters` in the list's order, a page at a time."""
    states = market_states() if states is None else states
    yield list(CSV_HEADER)
    cursor = ""
    while True:
        page = open_positions_page(filters=filters, cursor=cursor, page_size=page_size, states=states)
        for row in page.rows:
            yield position_csv_row(row)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
