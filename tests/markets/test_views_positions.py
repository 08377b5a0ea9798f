"""The positions list: filters and sorts agree with the Decimal formulas; cursors page exactly; HTMX partials."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.urls import reverse

from riskgov.markets.domain.position_math import INFINITY
from riskgov.markets.models import PositionStatus
from riskgov.markets.selectors.positions import (
    DISTANCE_BANDS,
    LEVERAGE_BANDS,
    LONG,
    SHORT,
    InvalidCursor,
    PositionFilters,
    open_positions_page,
)
from tests.factories import PositionFactory
from tests.markets.views_helpers import Expected, build_hand_made, build_markets, bulk_positions

URL = reverse("riskgov:position-list")


def all_rows(filters: PositionFilters, page_size: int = 50) -> list:
    rows, cursor = [], ""
    while True:
        page = open_positions_page(filters=filters, cursor=cursor, page_size=page_size)
        rows.extend(page.rows)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def in_leverage_band(e: Expected, band: str) -> bool:
    bounds = LEVERAGE_BANDS[band][1]
    if bounds is None:
        return e.risk.equity <= 0
    low, high = bounds
    return e.risk.equity > 0 and low <= e.risk.leverage and (high is None or e.risk.leverage < high)


def in_distance_band(e: Expected, band: str) -> bool:
    return e.risk.distance_to_liquidation < DISTANCE_BANDS[band][1]


@pytest.fixture
def expected(db) -> list[Expected]:
    rows = build_hand_made()
    PositionFactory(market=rows[0].position.market, status=PositionStatus.CLOSED, external_id="closed-1")
    return rows


@pytest.mark.parametrize("band", ["", *LEVERAGE_BANDS])
@pytest.mark.parametrize("distance", ["", *DISTANCE_BANDS])
def test_bands_select_exactly_the_positions_the_formulas_put_there(expected, band, distance):
    rows = all_rows(PositionFilters(leverage_band=band, distance_band=distance))
    want = {
        e.position.external_id
        for e in expected
        if (not band or in_leverage_band(e, band)) and (not distance or in_distance_band(e, distance))
    }
    assert {r.external_id for r in rows} == want


def test_every_leverage_band_is_used_and_bands_partition_the_positions(expected):
    seen: list[str] = []
    for band in LEVERAGE_BANDS:
        ids = [r.external_id for r in all_rows(PositionFilters(leverage_band=band))]
        assert ids, f"the hand-made set should exercise band {band}"
        seen.extend(ids)
    assert sorted(seen) == sorted(e.position.external_id for e in expected)


@pytest.mark.parametrize(("market", "side"), [("ETH", None), ("BTC", None), ("", LONG), ("", SHORT), ("ETH", SHORT)])
def test_market_and_side_filters(expected, market, side):
    rows = all_rows(PositionFilters(market=market, side=side))
    want = {
        e.position.external_id
        for e in expected
        if market in ("", e.position.market.symbol) and side in (None, 1 if e.position.size > 0 else -1)
    }
    assert {r.external_id for r in rows} == want


def test_rows_carry_the_decimal_risk_figures(expected):
    by_id = {e.position.external_id: e.risk for e in expected}
    for row in all_rows(PositionFilters()):
        assert row.risk == by_id[row.external_id]
        assert isinstance(row.risk.leverage, D)


SORT_KEYS = {
    "liquidation": lambda e: e.risk.distance_to_liquidation,
    "leverage": lambda e: -e.risk.leverage if e.risk.equity > 0 else -INFINITY,
    "notional": lambda e: -e.risk.notional,
    "collateral": lambda e: -e.position.collateral,
    "newest": lambda e: -e.position.opened_at.timestamp(),
}


@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_sorts_follow_the_formulas_across_markets_and_sides(expected, sort):
    by_id = {e.position.external_id: e for e in expected}
    rows = all_rows(PositionFilters(sort=sort))
    keys = [SORT_KEYS[sort](by_id[r.external_id]) for r in rows]
    assert len(rows) == len(expected)
    assert keys == sorted(keys)


def test_default_sort_puts_the_nearest_liquidation_first(expected):
    rows = all_rows(PositionFilters())
    assert rows[0].risk.liquidatable and rows[-1].risk.distance_to_liquidation == INFINITY


@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_cursor_pages_forward_and_back_cover_the_list_exactly_once(expected, sort):
    filters = PositionFilters(sort=sort)
    full = [r.external_id for r in all_rows(filters)]
    pages, cursor = [], ""
    while True:
        page = open_positions_page(filters=filters, cursor=cursor, page_size=4)
        pages.append((page, [r.external_id for r in page.rows]))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [i for _, ids in pages for i in ids] == full
    assert pages[0][0].prev_cursor is None
    # Walk back from the last page: each previous page is the one seen going forward.
    page = pages[-1][0]
    for _, ids in reversed(pages[:-1]):
        assert page.prev_cursor is not None
        page = open_positions_page(filters=filters, cursor=page.prev_cursor, page_size=4)
        assert [r.external_id for r in page.rows] == ids
    assert page.prev_cursor is None


def test_a_cursor_from_other_filters_is_rejected(expected):
    eth_page = open_positions_page(filters=PositionFilters(market="ETH"), page_size=2)
    with pytest.raises(InvalidCursor):
        open_positions_page(filters=PositionFilters(market="BTC"), cursor=eth_page.next_cursor or "")
    with pytest.raises(InvalidCursor):
        open_positions_page(filters=PositionFilters(), cursor="not-a-cursor")


def test_page_shows_filtered_rows_and_pager(client, expected):
    response = client.get(URL, {"market": "ETH", "side": "short", "distance": "5"})
    assert response.status_code == 200
    body = response.content.decode()
    want = [
        e for e in expected if e.position.market.symbol == "ETH" and e.position.size < 0 and in_distance_band(e, "5")
    ]
    assert len(want) == 2
    for e in want:
        assert e.position.external_id in body
    assert body.count('class="badge badge-short"') == 2 and "badge-long" not in body
    assert "<html" in body and "Page 1" in body


def test_page_follows_next_and_previous_links(client, db):
    eth, _ = build_markets()
    bulk_positions(eth, 120)
    first = client.get(URL)
    assert first.context["page"].next_cursor and len(first.context["page"].rows) == 50
    second = client.get(URL, {"cursor": first.context["page"].next_cursor, "page": 2})
    assert "Page 2" in second.content.decode()
    ids = {r.id for r in first.context["page"].rows} | {r.id for r in second.context["page"].rows}
    assert len(ids) == 100
    back = client.get(URL, {"cursor": second.context["page"].prev_cursor, "page": 1})
    assert [r.id for r in back.context["page"].rows] == [r.id for r in first.context["page"].rows]


def test_htmx_request_gets_only_the_table(client, expected):
    response = client.get(URL, {"leverage": "underwater"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="positions-table"')
    assert "<html" not in body and "<form" not in body
    assert body.count("<tr") == 1 + 2  # header and the two underwater positions
    assert "HX-Request" in response["Vary"]


def test_history_restore_gets_the_full_page(client, expected):
    response = client.get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in response.content.decode()


def test_bad_filter_is_a_clear_400(client, expected):
    response = client.get(URL, {"leverage": "9000x"})
    assert response.status_code == 400
    assert "These filters cannot be applied" in response.content.decode()


def test_bad_cursor_falls_back_to_the_first_page_with_a_notice(client, expected):
    response = client.get(URL, {"cursor": "garbage", "page": 7})
    body = response.content.decode()
    assert response.status_code == 200 and "Showing the first page" in body and "Page 1" in body


def test_empty_list(client, db):
    response = client.get(URL)
    assert response.status_code == 200
    assert "No open positions match these filters." in response.content.decode()


def test_markets_without_a_mark_are_named(client, expected):
    from tests.factories import MarketFactory

    MarketFactory(symbol="DOGE")
    response = client.get(URL)
    assert "Not listed: DOGE" in response.content.decode()
