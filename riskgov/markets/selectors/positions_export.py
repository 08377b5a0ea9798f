"""The open-positions list as CSV rows: the filters and order of the page, every page, numbers written out.

Amounts are plain decimals (never an exponent, never 18 places): quote amounts to the cent, sizes and
prices to eight decimals without trailing zeros, rates and distances in percent with two decimals,
leverage with two decimals. A figure that does not exist (leverage of an underwater position, the
liquidation price of a long that cannot be liquidated) is an empty cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal

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
CENT = Decimal("0.01")
FINE = Decimal("0.00000001")


def _plain(value: Decimal, step: Decimal) -> str:
    """`value` rounded to `step`, written without exponent; trailing zeros dropped below a cent."""
    if not value.is_finite():
        return ""
    rounded = value.quantize(step, rounding=ROUND_HALF_EVEN)
    text = f"{rounded:f}"
    if step < CENT and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "-0.00") else text


def money_cell(value: Decimal) -> str:
    return _plain(value, CENT)


def fine_cell(value: Decimal) -> str:
    return _plain(value, FINE)


def percent_cell(fraction: Decimal) -> str:
    return _plain(fraction * 100, CENT)


def position_csv_row(row: PositionRow) -> list[str]:
    risk = row.risk
    reachable = risk.liquidation_price > 0
    return [
        row.external_id,
        row.account_address,
        str(row.market),
        "long" if row.side == LONG else "short",
        fine_cell(row.size),
        fine_cell(row.entry_price),
        fine_cell(row.mark_price),
        money_cell(risk.notional),
        money_cell(row.collateral),
        money_cell(risk.equity),
        money_cell(row.unrealised_pnl),
        _plain(risk.leverage, CENT),
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
