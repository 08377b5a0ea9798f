"""The rows of the open-positions table, written once per row in Python: the formatting layer's functions, the
opening date and the row's two links (`position_cells`), then the row's markup (`position_rows`). Running some
twenty filters, two {% url %} tags and two date formats per row, and then a template loop over fifteen cells,
took most of a positions page's rendering; the markup is what riskgov/_positions_rows.html wrote, byte for byte."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from riskgov.core import formatting
from riskgov.core.templatetags.riskgov_format import short_address, trend
from riskgov.markets.selectors.positions import PositionRow

register = template.Library()

POSITION_LABEL_CHARS = 22  # the position's external id is cut to this many characters (the full id is its title)
DISTANCE_DANGER, DISTANCE_WARN = 0.05, 0.2  # fractions: a distance to liquidation below these is coloured


@dataclass(frozen=True)
class PositionCells:
    row: PositionRow
    position_label: str
    account_url: str
    account_label: str
    market_url: str
    size: str
    entry_price: str
    mark_price: str
    notional: str
    collateral: str
    pnl: str
    pnl_class: str
    leverage: str
    margin_ratio: str
    liquidation_price: str | None  # None: a long at or below 1x, which cannot be liquidated
    distance: str
    distance_class: str
    opened_day: str
    opened_minute: str


def _distance_class(distance: Decimal) -> str:
    if distance < DISTANCE_DANGER:
        return " danger"
    return " warn" if distance < DISTANCE_WARN else ""


def position_cells(rows: list[PositionRow]) -> list[PositionCells]:
    """Each row's figures as people read them (riskgov.core.formatting), its links and its opening time (UTC)."""
    market_urls: dict[str, str] = {}
    cells = []
    for row in rows:
        risk, symbol = row.risk, row.market.symbol
        if symbol not in market_urls:
            market_urls[symbol] = reverse("riskgov:market-detail", args=[symbol])
        pnl = row.unrealised_pnl
        opened = timezone.localtime(row.opened_at)
        cells.append(
            PositionCells(
                row=row,
                position_label=Truncator(row.external_id).chars(POSITION_LABEL_CHARS),
                account_url=reverse("riskgov:account-detail", args=[row.account_address]),
                account_label=short_address(row.account_address),
                market_url=market_urls[symbol],
                size=formatting.size(row.quantity),
                entry_price=formatting.price(row.entry_price),
                mark_price=formatting.price(row.mark_price),
                notional=formatting.usd(risk.notional),
                collateral=formatting.usd(row.collateral),
                pnl=formatting.signed_usd(pnl),
                pnl_class=trend(pnl),
                leverage=formatting.leverage(risk.leverage),
                margin_ratio=formatting.rate(risk.margin_ratio),
                liquidation_price=formatting.price(risk.liquidation_price) if risk.liquidation_price > 0 else None,
                distance=formatting.rate(risk.distance_to_liquidation, 1),
                distance_class=_distance_class(risk.distance_to_liquidation),
                opened_day=opened.strftime("%Y-%m-%d"),
                opened_minute=opened.strftime("%Y-%m-%d %H:%M"),
            )
        )
    return cells


_NONE = '<span class="muted" title="A long at or below 1x cannot be liquidated">none</span>'
_LONG = '<span class="badge badge-long">Long</span>'
_SHORT = '<span class="badge badge-short">Short</span>'
_LIQUIDATABLE = ' class="row-liquidatable"'


def _row_html(c: PositionCells, *, hide_market: bool, hide_account: bool) -> str:
    e = conditional_escape  # what the template's autoescaping writes
    row, risk = c.row, c.row.risk
    external_id = e(row.external_id)
    account = (
        f'<td class="mono small" data-label="Account"><a href="{e(c.account_url)}" '
        f'title="{e(row.account_address)}">{e(c.account_label)}</a></td>'
        if not hide_account
        else ""
    )
    symbol = str(row.market)
    market = f'<td data-label="Market"><a href="{e(c.market_url)}">{e(symbol)}</a></td>' if not hide_market else ""
    liquidation = e(c.liquidation_price) if c.liquidation_price else _NONE
    if risk.liquidatable:
        distance = (
            '<span class="badge badge-danger" title="Liquidatable now: equity below maintenance margin">'
            f"{e(c.distance)}</span>"
        )
    else:
        distance = f'<span class="distance{e(c.distance_class)}">{e(c.distance)}</span>'
    return (
        "\n        \n"
        f'        <tr{_LIQUIDATABLE if risk.liquidatable else ""} data-position="{external_id}">\n'
        f'          <td class="mono small" data-label="Position" title="{external_id}">{e(c.position_label)}</td>\n'
        f"          {account}\n"
        f"          {market}\n"
        f'          <td data-label="Side">{_LONG if row.is_long else _SHORT}</td>\n'
        f'          <td class="num" data-label="Size">{e(c.size)}</td>\n'
        f'          <td class="num" data-label="Entry">{e(c.entry_price)}</td>\n'
        f'          <td class="num" data-label="Mark">{e(c.mark_price)}</td>\n'
        f'          <td class="num" data-label="Notional">{e(c.notional)}</td>\n'
        f'          <td class="num" data-label="Collateral">{e(c.collateral)}</td>\n'
        f'          <td class="num {e(c.pnl_class)}" data-label="Unrealised PnL" title="size × (mark − entry)">'
        f"{e(c.pnl)}</td>\n"
        f'          <td class="num" data-label="Leverage">{e(c.leverage)}</td>\n'
        f'          <td class="num" data-label="Margin ratio">{e(c.margin_ratio)}</td>\n'
        f'          <td class="num" data-label="Liq. price">{liquidation}</td>\n'
        f'          <td class="num" data-label="To liquidation">{distance}</td>\n'
        f'          <td class="nowrap small" data-label="Opened" title="{e(c.opened_minute)} UTC">'
        f"{e(c.opened_day)}</td>\n"
        "        </tr>\n"
        "        \n"
        "      "
    )


def position_rows(rows: list[PositionRow], hide_market: bool = False, hide_account: bool = False) -> SafeString:
    """The table body's rows of `rows`, every value escaped as the template's autoescaping does."""
    cells = position_cells(rows)
    # every piece interpolated above went through conditional_escape; the literals are the project's markup
    return mark_safe("".join(_row_html(c, hide_market=hide_market, hide_account=hide_account) for c in cells))  # noqa: S308


register.simple_tag(position_rows, name="position_rows")
