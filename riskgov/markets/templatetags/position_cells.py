"""The cells of the open-positions table, formatted once per row in Python: the formatting layer's functions, the
opening date and the row's two links. The table template then writes strings, where running some twenty filters,
two {% url %} tags and two date formats per row took most of a positions page's rendering."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils import timezone
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


register.simple_tag(position_cells, name="position_cells")
