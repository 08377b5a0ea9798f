"""Hot pages issue a fixed number of queries whatever the number of positions or snapshots."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.markets.views_helpers import build_markets, bulk_positions, take_snapshots

PAGES = {
    "dashboard": (reverse("riskgov:dashboard"), {}),
    "positions": (reverse("riskgov:position-list"), {}),
    "positions-filtered": (
        reverse("riskgov:position-list"),
        {"leverage": "5-10", "distance": "20", "sort": "notional"},
    ),
    "positions-htmx": (reverse("riskgov:position-list"), {"sort": "newest"}),
    "positions-reversed-search": (
        reverse("riskgov:position-list"),
        {"sort": "leverage", "order": "asc", "account": "0x"},
    ),
    "markets": (reverse("riskgov:market-list"), {}),
    "market": (reverse("riskgov:market-detail", args=["ETH"]), {}),
}


def count_queries(client, url: str, params: dict, **headers: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params, headers=headers)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", list(PAGES))
def test_query_count_does_not_grow_with_rows(client, db, page):
    url, params = PAGES[page]
    headers = {"HX-Request": "true"} if page == "positions-htmx" else {}
    eth, btc = build_markets()
    bulk_positions(eth, 5)
    bulk_positions(btc, 5)
    take_snapshots(count=2)
    small = count_queries(client, url, params, **headers)

    bulk_positions(eth, 100, start=1000)
    bulk_positions(btc, 100, start=1000)
    take_snapshots(count=3)
    large = count_queries(client, url, params, **headers)
    assert large == small, f"{page}: {small} queries at 10 positions, {large} at 210"


def test_positions_page_fits_a_small_fixed_budget(client, db, django_assert_max_num_queries):
    eth, btc = build_markets()
    bulk_positions(eth, 200)
    bulk_positions(btc, 200)
    # Markets and marks, parameters, one UNION ALL over the (market, side) streams where the database
    # can order and limit each part of a compound query (PostgreSQL); otherwise one query per stream;
    # one count of the matching positions.
    streams = 1 if connection.features.supports_slicing_ordering_in_compound else 4
    with django_assert_max_num_queries(3 + streams):
        client.get(reverse("riskgov:position-list"))


def test_dashboard_fits_a_small_fixed_budget(client, db, django_assert_max_num_queries):
    eth, _ = build_markets()
    bulk_positions(eth, 200)
    take_snapshots(count=5)
    # Latest instant, its set, history instants, history rows, snapshot health, the OI caps in force.
    with django_assert_max_num_queries(6):
        client.get(reverse("riskgov:dashboard"))
