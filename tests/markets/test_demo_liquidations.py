"""The demo's liquidation history agrees with the demo's prices and with the liquidation formulas."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db.models import Sum

from insurance.models import EntryKind, FundLedgerEntry
from riskgov.demo.services.insurance import insurance_demo_seed
from riskgov.demo.services.liquidations import liquidations_demo_seed
from riskgov.demo.services.markets import DEMO_MARKETS, PRICE_SOURCE, demo_seed
from riskgov.markets.models import Liquidation, PriceObservation
from riskgov.markets.services.liquidation_imports import LIQUIDATION_COLUMNS, liquidations_import

pytestmark = pytest.mark.django_db

FIELDS = ("external_id", "market__symbol", "liquidated_at", "size", "entry_price", "collateral", "price", "penalty",
          "bad_debt")  # fmt: skip


def test_history_follows_the_prices_and_the_formulas():
    demo_seed(seed=5, positions=100, days=20, snapshot_days=0)
    created = liquidations_demo_seed(seed=5)

    assert created == Liquidation.objects.count() > 20
    assert liquidations_demo_seed(seed=5) == 0  # already there: nothing added
    specs = {spec.symbol: spec for spec in DEMO_MARKETS}
    hourly = {
        (symbol, moment): price
        for symbol, moment, price in PriceObservation.objects.filter(source=PRICE_SOURCE).values_list(
            "market__symbol", "observed_at", "price"
        )
    }
    rows = list(Liquidation.objects.select_related("market"))
    for row in rows:
        hour = row.liquidated_at.replace(minute=0, second=0, microsecond=0)
        assert abs(row.price - hourly[(row.market.symbol, hour)]) <= row.price * D("1e-7")  # the demo price then
        equity = row.collateral + row.size * (row.price - row.entry_price)
        spec = specs[row.market.symbol]
        assert equity < D(spec.mmr) * row.notional  # below maintenance: liquidatable
        assert row.bad_debt == max(D(0), -equity).quantize(D("0.01"))  # in cents
        assert row.penalty == min(D(spec.penalty) * row.notional, max(D(0), equity)).quantize(D("0.01"), "ROUND_DOWN")
        assert row.notional == (abs(row.size) * row.price).quantize(D("1e-18"))
        assert abs(row.size) * row.entry_price / row.collateral <= spec.max_leverage  # opened within the limit
        assert (row.size > 0) == (row.price < row.entry_price)  # the side the move went against
    assert any(row.bad_debt > 0 for row in rows) and any(row.penalty > 0 for row in rows)

    # The history is what the importer accepts: as a file it passes every check and changes nothing.
    as_file = [
        {name: str(value) for name, value in zip(LIQUIDATION_COLUMNS, _cells(row), strict=True) if value is not None}
        for row in rows
    ]
    result = liquidations_import(rows=as_file)
    assert (result.created, result.updated, result.unchanged) == (0, 0, len(rows))


def _cells(row: Liquidation) -> tuple[object, ...]:
    by_column = {
        "external_id": row.external_id,
        "market": row.market.symbol,
        "account": row.account.address if row.account_id else None,
        "liquidated_at": row.liquidated_at.isoformat(),
        "size": row.size.normalize(),
        "entry_price": row.entry_price.normalize(),
        "collateral": row.collateral.normalize(),
        "price": row.price.normalize(),
        "penalty": row.penalty.normalize(),
        "bad_debt": row.bad_debt.normalize(),
        "liquidator": None,
        "tx_hash": None,
    }
    return tuple(by_column[name] for name in LIQUIDATION_COLUMNS)


@pytest.mark.django_db(transaction=True)  # the fund's baseline coverage run reads the inputs its commit wrote
def test_the_demo_fund_pays_the_realised_bad_debt_and_earns_the_penalties():
    demo_seed(seed=6, positions=100, days=12, snapshot_days=0)
    liquidations_demo_seed(seed=6)
    fund = insurance_demo_seed(seed=6, days=12, coverage_paths=200)

    assert fund is not None
    entries = FundLedgerEntry.objects.filter(fund=fund)
    start = entries.get(external_ref="demo:6:genesis").occurred_at.replace(hour=0)  # the ledger's day 0
    # days 1 … 11 of the ledger; today is not over, so its liquidations are not booked yet
    booked = Liquidation.objects.filter(
        liquidated_at__gte=start + timedelta(days=1), liquidated_at__lt=start + timedelta(days=12)
    )
    for kind, field in ((EntryKind.BAD_DEBT_PAYOUT, "bad_debt"), (EntryKind.PENALTY_INCOME, "penalty")):
        ledger = entries.filter(kind=kind).aggregate(total=Sum("amount"))["total"] or D(0)
        realised = booked.aggregate(total=Sum(field))["total"] or D(0)
        assert abs(ledger - realised) <= D("0.01") * entries.filter(kind=kind).count(), kind  # cents per day
        assert realised > 0
