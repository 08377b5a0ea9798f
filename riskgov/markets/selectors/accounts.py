"""One account's page: its open positions at current marks, its closed and liquidated positions, its realised
liquidations (chain events and imported history), totals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from riskgov.markets.models import Account, Liquidation, Position, PositionStatus
from riskgov.markets.selectors.markets import market_states
from riskgov.markets.selectors.positions import PositionFilters, PositionRow, open_positions_page

OPEN_LIMIT = 500  # open positions listed on the page; the positions list pages through any number
HISTORY_LIMIT = 200


@dataclass
class AccountOverview:
    account: Account
    open_rows: list[PositionRow]
    open_more: bool  # more open positions than the page lists
    unpriced_open: int  # open positions in markets without a mark or parameters (not in open_rows)
    history: list[Position]
    history_total: int
    liquidations: list[Liquidation]
    liquidations_total: int

    @property
    def notional(self) -> Decimal:
        return sum((r.risk.notional for r in self.open_rows), Decimal(0))

    @property
    def collateral(self) -> Decimal:
        return sum((r.collateral for r in self.open_rows), Decimal(0))

    @property
    def unrealised_pnl(self) -> Decimal:
        return sum((r.unrealised_pnl for r in self.open_rows), Decimal(0))

    @property
    def liquidatable(self) -> int:
        return sum(1 for r in self.open_rows if r.risk.liquidatable)

    @property
    def liquidated_count(self) -> int:
        return sum(1 for p in self.history if p.status == PositionStatus.LIQUIDATED)

    @property
    def bad_debt(self) -> Decimal:
        return sum((liquidation.bad_debt for liquidation in self.liquidations), Decimal(0))


def account_history(account: Account) -> QuerySet[Position]:
    """The account's closed and liquidated positions, most recently closed first."""
    return (
        Position.objects.filter(account=account)
        .exclude(status=PositionStatus.OPEN)
        .select_related("market")
        .order_by("-closed_at", "-opened_at", "-pk")
    )


def account_overview(*, account: Account) -> AccountOverview:
    states = market_states()
    page = open_positions_page(filters=PositionFilters(account_ids=(account.pk,)), page_size=OPEN_LIMIT, states=states)
    priced = {s.market.pk for s in states if s.mark_price is not None and s.parameters is not None}
    unpriced_open = (
        Position.objects.filter(account=account, status=PositionStatus.OPEN).exclude(market_id__in=priced).count()
    )
    history = account_history(account)
    liquidations = (
        Liquidation.objects.filter(account=account).select_related("market").order_by("-liquidated_at", "-pk")
    )
    return AccountOverview(
        account=account,
        open_rows=page.rows,
        open_more=page.next_cursor is not None,
        unpriced_open=unpriced_open,
        history=list(history[:HISTORY_LIMIT]),
        history_total=history.count(),
        liquidations=list(liquidations[:HISTORY_LIMIT]),
        liquidations_total=liquidations.count(),
    )
