"""Exposure is exact on every supported database (the suite runs this file on PostgreSQL and SQLite):
the stored bankruptcy price, keyset paging, and the liquidatable boundary on the dashboard and the
positions page, each against an independent Decimal reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from decimal import localcontext
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from riskgov.markets.models import Position
from riskgov.markets.tasks import exposure_snapshot
from tests.factories import AccountFactory, MarginParametersFactory, MarketFactory, PriceObservationFactory
from tests.markets.views_helpers import ETH_MARK, ETH_MMR, build_markets

pytestmark = pytest.mark.django_db

ADDRESS = "0x52908400098527886e0f7030069857d2e4169ee7"
URL = reverse("riskgov:position-list")


def exact_liquidatable(size: D, entry: D, collateral: D, price: D, mmr: D) -> bool:
    """Reference: E < mmr·N with every digit kept (DESIGN.md, strict)."""
    with localcontext() as ctx:
        ctx.prec = 200
        return collateral + size * (price - entry) < mmr * abs(size) * price


def page_rows(client, params: dict) -> list:
    rows, cursor = [], ""
    while True:
        response = client.get(URL, {**params, "cursor": cursor} if cursor else params)
        assert response.status_code == 200
        page = response.context["page"]
        rows.extend(page.rows)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def test_integral_collateral_and_size_give_the_exact_bankruptcy_price(tmp_path):
    doge = MarketFactory(symbol="DOGE")
    MarginParametersFactory(market=doge)
    path = tmp_path / "doge.csv"
    path.write_text(
        "external_id,account,market,size,entry_price,collateral\n"
        f"doge-long,{ADDRESS},DOGE,100000,0.12957,617\n"
        f"doge-short,{ADDRESS},DOGE,-100000,0.12957,617\n"
    )

    call_command("import_positions", str(path), stdout=StringIO())

    stored = {p.external_id: p.bankruptcy_price for p in Position.objects.all()}
    assert stored == {"doge-long": D("0.12340"), "doge-short": D("0.13574")}


@pytest.mark.parametrize("sort", ["liquidation", "notional", "collateral"])
def test_paging_lists_every_position_once_when_keys_have_more_than_15_digits(client, sort):
    eth, _ = build_markets()
    account = AccountFactory()
    # C/s with s = 3 or 7 is a repeating decimal: the stored key carries more digits than Django reads back.
    Position.objects.bulk_create(
        Position(
            external_id=f"rep-{i}",
            account=account,
            market=eth,
            size=D((3, 7)[i % 2]) * (1 if i % 4 < 2 else -1),
            entry_price=D("3000") + D(i % 13),
            collateral=D(100 + i) + D(1) / D(3 + i % 5),
            opened_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
        )
        for i in range(300)
    )

    rows = page_rows(client, {"sort": sort})

    assert len(rows) == 300
    assert len({row.id for row in rows}) == 300


BOUNDARY_ENTRIES = 30
NUDGE = D("0.000000001")  # inside float64's rounding band at these magnitudes: the exact check decides


def boundary_book() -> list[tuple[D, D, D]]:
    """(size, entry, collateral) exactly on E = mmr·N at ETH's mark, just above and just below it."""
    book = []
    for k in range(1, BOUNDARY_ENTRIES + 1):
        quantity = D(k) * D("0.37") + D("0.001")
        for side in (1, -1):
            entry = ETH_MARK + side * D(k) / D(4)
            on_boundary = ETH_MMR * quantity * ETH_MARK - side * quantity * (ETH_MARK - entry)
            for collateral in (on_boundary, on_boundary + NUDGE, on_boundary - NUDGE, on_boundary - D("0.01")):
                book.append((side * quantity, entry, collateral))
    return book


def test_dashboard_and_positions_page_agree_with_decimal_on_the_liquidation_boundary(client):
    eth, _ = build_markets()
    account = AccountFactory()
    book = boundary_book()
    Position.objects.bulk_create(
        Position(
            external_id=f"edge-{i}",
            account=account,
            market=eth,
            size=size,
            entry_price=entry,
            collateral=collateral,
            opened_at=datetime(2024, 1, 1, tzinfo=UTC),
        )
        for i, (size, entry, collateral) in enumerate(book)
    )
    expected = {f"edge-{i}" for i, (s, e, c) in enumerate(book) if exact_liquidatable(s, e, c, ETH_MARK, ETH_MMR)}
    assert len(expected) == 2 * BOUNDARY_ENTRIES * 2  # on or just above is not liquidatable; below is

    exposure_snapshot()
    dashboard = client.get(reverse("riskgov:dashboard")).context["dashboard"]
    market_page = client.get(reverse("riskgov:market-detail", args=["ETH"])).context["detail"]
    flagged = {row.external_id for row in page_rows(client, {"market": "ETH"}) if row.risk.liquidatable}
    listed = {row.external_id for row in page_rows(client, {"market": "ETH", "distance": "liquidatable"})}

    assert dashboard.protocol.liquidatable_count == len(expected)
    assert market_page.snapshot.liquidatable_count == len(expected)
    assert flagged == expected
    assert listed == expected


def test_a_mark_with_awkward_digits_keeps_the_boundary_exact(client):
    market = MarketFactory(symbol="SOL")
    mmr = D("0.0123")
    MarginParametersFactory(market=market, mmr=mmr)
    mark = D("142.370001")
    PriceObservationFactory(market=market, price=mark, observed_at=datetime.now(tz=UTC) - timedelta(minutes=1))
    size, entry = D("0.7"), D("145.1")
    on_boundary = mmr * size * mark - size * (mark - entry)  # 14 significant digits: an accepted amount
    Position.objects.create(
        external_id="sol-edge",
        account=AccountFactory(),
        market=market,
        size=size,
        entry_price=entry,
        collateral=on_boundary,
        opened_at=datetime(2024, 1, 1, tzinfo=UTC),
    )

    exposure_snapshot()

    assert not exact_liquidatable(size, entry, on_boundary, mark, mmr)
    row = page_rows(client, {"market": "SOL"})[0]
    assert row.risk.liquidatable is False
    assert client.get(reverse("riskgov:market-detail", args=["SOL"])).context["detail"].snapshot.liquidatable_count == 0
