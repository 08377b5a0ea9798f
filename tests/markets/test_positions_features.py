"""The positions list's count, two-way sorts, account search and CSV export; the account page; the
markets' mark age, source and stale/flat flags; a market page's live "liquidatable now" against its table."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from riskgov.markets.models import Liquidation, LiquidationSource, PositionStatus
from riskgov.markets.selectors import positions as positions_selector
from riskgov.markets.selectors.markets import mark_freshness, market_states
from riskgov.markets.selectors.positions import (
    ASCENDING,
    COUNT_LIMIT,
    DESCENDING,
    DISTANCE_BANDS,
    NATURAL_ORDER,
    SORTS,
    InvalidCursor,
    PositionFilters,
    PositionTotal,
    accounts_matching,
    liquidatable_live,
    open_positions_count,
    open_positions_page,
    open_positions_total,
)
from riskgov.markets.selectors.positions_export import CSV_HEADER, open_positions_csv_rows
from tests.factories import (
    MarginParametersFactory,
    MarketFactory,
    PositionFactory,
    PriceObservationFactory,
)
from tests.markets.test_views_positions import SORT_KEYS, all_rows, in_distance_band
from tests.markets.views_helpers import ETH_MARK, Expected, build_hand_made, take_snapshots

URL = reverse("riskgov:position-list")
EXPORT = reverse("riskgov:position-export")


@pytest.fixture
def expected(db) -> list[Expected]:
    rows = build_hand_made()
    PositionFactory(market=rows[0].position.market, status=PositionStatus.CLOSED, external_id="closed-1")
    return rows


def opposite(sort: str) -> str:
    return ASCENDING if NATURAL_ORDER[sort] == DESCENDING else DESCENDING


# ------------------------------------------------------------------ sorting both ways


@pytest.mark.parametrize("sort", list(SORTS))
def test_the_opposite_order_is_the_list_reversed_and_follows_the_formulas(expected, sort):
    natural = [r.external_id for r in all_rows(PositionFilters(sort=sort))]
    reversed_rows = all_rows(PositionFilters(sort=sort, order=opposite(sort)))
    assert [r.external_id for r in reversed_rows] == natural[::-1]
    by_id = {e.position.external_id: e for e in expected}
    keys = [SORT_KEYS[sort](by_id[r.external_id]) for r in reversed_rows]
    assert keys == sorted(keys, reverse=True)
    # naming the sort's own order is the same as not naming one
    assert [r.external_id for r in all_rows(PositionFilters(sort=sort, order=NATURAL_ORDER[sort]))] == natural


@pytest.mark.parametrize("sort", ["leverage", "liquidation", "newest"])
def test_reversed_pages_forward_and_back_cover_the_list_exactly_once(expected, sort):
    filters = PositionFilters(sort=sort, order=opposite(sort))
    full = [r.external_id for r in all_rows(filters)]
    pages, cursor = [], ""
    while True:
        page = open_positions_page(filters=filters, cursor=cursor, page_size=4)
        pages.append((page, [r.external_id for r in page.rows]))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [i for _, ids in pages for i in ids] == full
    page = pages[-1][0]
    for _, ids in reversed(pages[:-1]):
        assert page.prev_cursor is not None
        page = open_positions_page(filters=filters, cursor=page.prev_cursor, page_size=4)
        assert [r.external_id for r in page.rows] == ids


def test_a_cursor_from_the_other_order_is_rejected(expected):
    page = open_positions_page(filters=PositionFilters(sort="leverage"), page_size=3)
    with pytest.raises(InvalidCursor):
        open_positions_page(filters=PositionFilters(sort="leverage", order=ASCENDING), cursor=page.next_cursor or "")


def test_an_unknown_order_is_refused_by_name(expected, client):
    with pytest.raises(ValueError, match="unknown order 'up'"):
        PositionFilters(order="up")
    response = client.get(URL, {"order": "up"})
    assert response.status_code == 400
    assert "order" in response.content.decode()


def test_column_headings_sort_and_a_second_click_reverses(client, expected):
    body = client.get(URL, {"sort": "leverage"}).content.decode()
    heading = re.search(r'<th[^>]*data-sort="leverage"[^>]*>.*?</th>', body, re.S)
    assert heading is not None
    assert 'aria-sort="descending"' in heading.group(0)
    assert "sort=leverage&amp;order=asc" in heading.group(0)  # the current sort's link flips it
    notional = re.search(r'<th[^>]*data-sort="notional"[^>]*>.*?</th>', body, re.S)
    assert notional is not None and 'aria-sort="none"' in notional.group(0)
    assert "sort=notional&amp;order=desc" in notional.group(0)  # another column starts in its own order

    body = client.get(URL, {"sort": "leverage", "order": "asc"}).content.decode()
    rows = re.findall(r'data-position="([^"]+)"', body)
    assert rows == [r.external_id for r in all_rows(PositionFilters(sort="leverage", order=ASCENDING))]
    assert 'aria-sort="ascending"' in body and "sort=leverage&amp;order=desc" in body


# ------------------------------------------------------------------ count and search


@pytest.mark.parametrize("distance", ["", *DISTANCE_BANDS])
def test_total_count_is_the_number_of_matching_positions(client, expected, distance):
    want = [e for e in expected if not distance or in_distance_band(e, distance)]
    assert open_positions_count(filters=PositionFilters(distance_band=distance)) == len(want)
    body = client.get(URL, {"distance": distance}).content.decode()
    assert f'data-total="{len(want)}"' in body
    assert f"<strong>{len(want)}</strong> open position" in body


def test_search_by_address_prefix_label_or_whole_address_in_any_case(client, expected):
    account = expected[1].position.account
    account.label = "Market maker one"
    account.save()
    mine = {e.position.external_id for e in expected if e.position.account_id == account.pk}
    assert len(mine) >= 3
    for term in (
        account.address.lower(),
        account.address.upper().replace("0X", "0x"),
        account.address[:12],
        "maker ONE",
    ):
        match = accounts_matching(term)
        assert match.ids == (account.pk,), term
        rows = all_rows(PositionFilters(account_ids=match.ids))
        assert {r.external_id for r in rows} == mine
    body = client.get(URL, {"account": account.address.lower()}).content.decode()
    assert set(re.findall(r'data-position="([^"]+)"', body)) == mine
    assert f'data-total="{len(mine)}"' in body


def test_a_search_matching_nobody_lists_nothing(client, expected):
    assert accounts_matching("0xffffffffffffffffffff").ids == ()
    assert open_positions_count(filters=PositionFilters(account_ids=())) == 0
    body = client.get(URL, {"account": "0xffffffffffffffffffff"}).content.decode()
    assert 'data-total="0"' in body and "No open positions match these filters." in body


@pytest.mark.parametrize("distance", ["", "20"])
def test_the_total_is_exact_up_to_its_limit_then_says_more_than(client, expected, distance, monkeypatch):
    want = len([e for e in expected if not distance or in_distance_band(e, distance)])
    filters = PositionFilters(distance_band=distance)
    for limit in (want, want + 1, 50):
        total = open_positions_total(filters=filters, limit=limit)
        assert (total.count, total.more, total.limit) == (want, False, limit)
    below = open_positions_total(filters=filters, limit=want - 1)
    assert (below.count, below.more) == (want - 1, True)
    assert open_positions_total(filters=PositionFilters(account_ids=())) == PositionTotal(0, False, COUNT_LIMIT)
    # an account search counts through its own query: the same figures
    account_id = expected[1].position.account_id
    mine = len(
        [e for e in expected if e.position.account_id == account_id and (not distance or in_distance_band(e, distance))]
    )
    by_account = replace(filters, account_ids=(account_id,))
    assert open_positions_total(filters=by_account, limit=mine) == PositionTotal(mine, False, mine)
    assert open_positions_total(filters=by_account, limit=mine - 1) == PositionTotal(mine - 1, True, mine - 1)
    with pytest.raises(ValueError, match="limit"):
        open_positions_total(filters=filters, limit=-1)
    # the page says "more than" past the limit, with the export still offered
    monkeypatch.setattr(positions_selector, "COUNT_LIMIT", want - 1)
    body = client.get(URL, {"distance": distance}).content.decode()
    assert f'data-total="{want - 1}+"' in body and f"<strong>More than {want - 1}</strong>" in body
    assert 'id="positions-export"' in body
    monkeypatch.undo()
    body = client.get(URL, {"distance": distance}).content.decode()
    assert f'data-total="{want}"' in body and "More than" not in body


def test_a_search_matching_too_many_accounts_says_so(client, expected, monkeypatch):
    monkeypatch.setattr(positions_selector, "ACCOUNT_MATCH_LIMIT", 2)
    match = accounts_matching("0x")
    assert match.truncated and len(match.ids or ()) == 2
    body = client.get(URL, {"account": "0x"}).content.decode()
    assert "More than 2 accounts match" in body


def test_a_search_that_is_too_long_is_a_clear_400(client, expected):
    response = client.get(URL, {"account": "0x" + "a" * 80})
    assert response.status_code == 400
    assert "account" in response.content.decode()


def test_rows_show_unrealised_pnl(client, expected):
    rows = {r.external_id: r for r in all_rows(PositionFilters())}
    for e in expected:
        row = rows[e.position.external_id]
        assert row.unrealised_pnl == e.position.size * (row.mark_price - e.position.entry_price)
    # 10 ETH long from 2,900 at a 3,000 mark: +$1,000; a 1 ETH long from 3,300: −$300
    body = client.get(URL, {"market": "ETH", "side": "long"}).content.decode()
    assert "+$1.00K" in body and "−$300" in body


# ------------------------------------------------------------------ CSV export


def read_csv(response) -> list[list[str]]:
    assert response.streaming, "the export is streamed"
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_export_is_the_current_filter_in_the_list_order_with_plain_numbers(client, expected):
    params = {"market": "ETH", "sort": "notional", "order": "asc"}
    response = client.get(EXPORT, params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = read_csv(response)
    assert table[0] == list(CSV_HEADER)
    listed = all_rows(PositionFilters(market="ETH", sort="notional", order=ASCENDING))
    assert [row[0] for row in table[1:]] == [r.external_id for r in listed]
    column = {name: i for i, name in enumerate(CSV_HEADER)}
    by_id = {e.position.external_id: e for e in expected}
    for line in table[1:]:
        e = by_id[line[0]]
        assert line[column["market"]] == "ETH-USD"
        for cell in line[4:15]:
            assert "E" not in cell and "e" not in cell, cell
            assert not re.search(r"\.\d{9,}", cell), cell
        assert D(line[column["notional_usd"]]) == e.risk.notional.quantize(D("0.01"), ROUND_HALF_UP)
        assert D(line[column["equity_usd"]]) == e.risk.equity.quantize(D("0.01"), ROUND_HALF_UP)
        assert D(line[column["unrealised_pnl_usd"]]) == (
            e.position.size * (ETH_MARK - e.position.entry_price)
        ).quantize(D("0.01"), ROUND_HALF_UP)
        assert D(line[column["margin_ratio_pct"]]) == (e.risk.margin_ratio * 100).quantize(D("0.01"), ROUND_HALF_UP)
        assert line[column["liquidatable"]] == ("yes" if e.risk.liquidatable else "no")
        if e.risk.equity <= 0:
            assert line[column["leverage"]] == ""  # no leverage for an underwater position
        if e.risk.liquidation_price <= 0:
            assert line[column["liquidation_price"]] == ""  # a long at or below 1x is never liquidated


def test_export_reads_every_page(expected):
    filters = PositionFilters(sort="collateral")
    rows = list(open_positions_csv_rows(filters=filters, page_size=3))
    assert [r[0] for r in rows[1:]] == [r.external_id for r in all_rows(filters)]
    assert len(rows) == 1 + len(expected)


def test_export_with_bad_filters_is_a_clear_400(client, expected):
    response = client.get(EXPORT, {"leverage": "7-9"})
    assert response.status_code == 400
    assert "leverage" in response.content.decode()


def test_the_list_links_the_export_of_its_filter(client, expected):
    body = client.get(URL, {"market": "BTC", "sort": "newest"}).content.decode()
    link = re.search(r'id="positions-export" href="([^"]+)"', body)
    assert link is not None
    assert link.group(1).startswith(EXPORT) and "market=BTC" in link.group(1) and "sort=newest" in link.group(1)


# ------------------------------------------------------------------ account page


def test_account_page_lists_positions_history_and_liquidations(client, expected):
    account = expected[1].position.account
    eth = expected[0].position.market
    closed = PositionFactory(
        account=account, market=eth, status=PositionStatus.LIQUIDATED, external_id="gone-1", closed_at=timezone.now()
    )
    Liquidation.objects.create(
        source=LiquidationSource.IMPORT,
        external_id="liq-1",
        market=eth,
        account=account,
        position=closed,
        liquidated_at=timezone.now() - timedelta(hours=1),
        size=D("1"),
        price=D("2500"),
        notional=D("2500"),
        penalty=D("12.5"),
        bad_debt=D("340"),
    )
    response = client.get(reverse("riskgov:account-detail", args=[account.address.lower()]))
    assert response.status_code == 200
    body = response.content.decode()
    mine = [e for e in expected if e.position.account_id == account.pk]
    assert set(re.findall(r'data-position="([^"]+)"', body)) == {e.position.external_id for e in mine}
    assert account.address in body
    assert "gone-1" in body and "Liquidated" in body
    assert 'id="account-liquidations"' in body and "$340" in body and "$12.50" in body
    pnl = sum(
        (
            e.position.size * (ETH_MARK if e.position.market == eth else D("60000"))
            - e.position.size * e.position.entry_price
            for e in mine
        ),
        D(0),
    )
    assert response.context["overview"].unrealised_pnl == pnl


def test_rows_link_to_their_account_page(client, expected):
    body = client.get(URL).content.decode()
    address = expected[0].position.account.address
    assert reverse("riskgov:account-detail", args=[address]) in body


def test_unknown_account_is_404(client, db):
    response = client.get(reverse("riskgov:account-detail", args=["0x" + "1" * 40]))
    assert response.status_code == 404


# ------------------------------------------------------------------ mark age, source and flags


@pytest.fixture
def three_marks(db):
    """FRESH moves every hour; STALE's last price is 3 h old; FLAT has posted the same price for 8 h."""
    now = timezone.now()
    markets = {}
    for symbol in ("FRESH", "STALE", "FLAT"):
        markets[symbol] = MarketFactory(symbol=symbol, name=symbol.title())
        MarginParametersFactory(market=markets[symbol])
    for h in range(10):
        at = now - timedelta(hours=h, minutes=2)
        PriceObservationFactory(market=markets["FRESH"], price=D("100") + h, observed_at=at, source="chain")
        PriceObservationFactory(market=markets["FLAT"], price=D("50") if h <= 8 else D("49"), observed_at=at)
        PriceObservationFactory(market=markets["STALE"], price=D("10") + h, observed_at=at - timedelta(hours=3))
    return markets


def test_mark_freshness_flags_stale_and_flat_prices(three_marks):
    states = market_states()
    found = mark_freshness(states)
    by_symbol = {s.market.symbol: found[s.market.pk] for s in states}
    fresh, stale, flat = by_symbol["FRESH"], by_symbol["STALE"], by_symbol["FLAT"]
    assert fresh.source == "chain" and not fresh.flagged
    assert 100 <= (fresh.age_seconds or 0) <= 200
    assert stale.is_stale and not stale.is_flat
    assert flat.is_flat and not flat.is_stale
    assert flat.flat_seconds == pytest.approx(8 * 3600)


def test_a_single_observation_is_not_flat(db):
    market = MarketFactory(symbol="ONE")
    MarginParametersFactory(market=market)
    PriceObservationFactory(market=market, price=D("5"), observed_at=timezone.now() - timedelta(minutes=1))
    freshness = mark_freshness(market_states())[market.pk]
    assert not freshness.is_flat and not freshness.is_stale


def test_market_list_shows_each_marks_age_and_source_and_flags(client, three_marks):
    body = client.get(reverse("riskgov:market-list")).content.decode()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"<tr>\s*<td><a href=\"/markets/(\w+)/\">.*?</tr>", body, re.S)}
    assert set(rows) == {"FRESH", "STALE", "FLAT"}
    assert "chain" in rows["FRESH"] and "min" in rows["FRESH"] and "data-flag" not in rows["FRESH"]
    assert 'data-flag="stale"' in rows["STALE"] and 'data-flag="flat"' not in rows["STALE"]
    assert 'data-flag="flat"' in rows["FLAT"] and "unchanged 8 h" in rows["FLAT"]


def test_market_page_flags_a_stale_mark(client, three_marks):
    body = client.get(reverse("riskgov:market-detail", args=["STALE"])).content.decode()
    assert 'data-flag="stale"' in body


# ------------------------------------------------------------------ live figures against the table


def test_market_page_liquidatable_now_agrees_with_its_table_after_the_price_moved(client, expected):
    eth = expected[0].position.market
    take_snapshots()  # at the 3,000 mark
    PriceObservationFactory(market=eth, price=D("2800"), observed_at=timezone.now())  # then ETH falls 6.7 %
    response = client.get(reverse("riskgov:market-detail", args=["ETH"]))
    body = response.content.decode()
    detail = response.context["detail"]
    table_liquidatable = sum(1 for row in detail.nearest if row.risk.liquidatable)
    count, notional = detail.live_liquidatable
    assert count == table_liquidatable == body.count('badge badge-danger" title="Liquidatable now')
    assert notional == sum((row.risk.notional for row in detail.nearest if row.risk.liquidatable), D(0))
    at_snapshot = sum(1 for e in expected if e.position.market == eth and e.risk.liquidatable)  # risk at 3,000
    assert detail.snapshot.liquidatable_count == at_snapshot != count  # the snapshot's figure is of its own time
    assert f'data-count="{count}"' in body
    assert "Liquidatable at snapshot" in body and "live" in body


def test_live_liquidatable_matches_the_formula_per_market(expected):
    for symbol in ("ETH", "BTC"):
        want = [e for e in expected if e.position.market.symbol == symbol and e.risk.liquidatable]
        count, notional = liquidatable_live(filters=PositionFilters(market=symbol))
        assert count == len(want)
        assert notional == sum((e.risk.notional for e in want), D(0))
