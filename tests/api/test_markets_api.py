"""Markets API: markets and parameter history, positions with the page's filters and cursor pages, snapshots,
the liquidation map and the shock table — compared with the Decimal formulas and the stored snapshots."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.urls import reverse

from riskgov.markets.models import PROTOCOL_SCOPE, MarginParameters
from tests.api.conftest import ApiProtocol
from tests.markets.views_helpers import BTC_MARK, ETH_MARK

pytestmark = pytest.mark.django_db


def test_markets_list_their_mark_and_the_parameters_in_force(client, api_protocol: ApiProtocol):
    body = client.get(reverse("riskgov:api-markets")).json()
    assert body["count"] == 2 and [m["symbol"] for m in body["results"]] == ["BTC", "ETH"]
    eth = body["results"][1]
    assert D(eth["mark_price"]) == ETH_MARK
    in_force = MarginParameters.objects.get(market__symbol="ETH")
    assert eth["parameters"]["version"] == in_force.version and D(eth["parameters"]["mmr"]) == in_force.mmr
    eth_row = next(s for s in api_protocol.latest if s.scope == "ETH")
    assert eth["snapshot"]["id"] == eth_row.pk


def test_a_market_by_symbol_any_case_and_its_parameter_history(client, api_protocol: ApiProtocol):
    detail = client.get(reverse("riskgov:api-market", kwargs={"symbol": "btc"}))
    assert detail.status_code == 200 and D(detail.json()["mark_price"]) == BTC_MARK
    history = client.get(reverse("riskgov:api-market-parameters", kwargs={"symbol": "ETH"})).json()
    versions = list(MarginParameters.objects.filter(market__symbol="ETH").order_by("-version"))
    assert [row["version"] for row in history["results"]] == [v.version for v in versions]


@pytest.mark.parametrize("symbol", ["NOPE", "ETH%00"])
def test_an_unknown_or_malformed_symbol_is_a_404_in_the_error_shape(client, api_protocol: ApiProtocol, symbol):
    response = client.get(f"/api/markets/{symbol}/")
    assert response.status_code in (400, 404)  # a NUL byte in a path may be refused before routing
    if symbol == "NOPE":
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def _all_positions(client, query: str, page_size: int = 4) -> list[dict]:
    rows, url = [], f"{reverse('riskgov:api-positions')}?page_size={page_size}&{query}"
    while url:
        body = client.get(url).json()
        rows += body["results"]
        url = body["next"]
    return rows


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ("", lambda e: True),
        ("market=ETH&side=short", lambda e: e.position.market.symbol == "ETH" and e.position.size < 0),
        ("distance=5", lambda e: e.risk.distance_to_liquidation < D("0.05")),
        ("leverage=underwater", lambda e: e.risk.equity <= 0),
    ],
)
def test_positions_filter_like_the_page_and_cursor_pages_cover_each_once(client, api_protocol, query, keep):
    rows = _all_positions(client, query)
    wanted = {e.position.pk: e for e in api_protocol.expected if keep(e)}
    assert sorted(row["id"] for row in rows) == sorted(wanted)  # every match once, across pages
    for row in rows:
        risk = wanted[row["id"]].risk
        assert row["liquidatable"] == risk.liquidatable
        assert (row["leverage"] is None) == (not risk.leverage.is_finite())
        if risk.leverage.is_finite():
            assert abs(D(row["leverage"]) - risk.leverage) < D("1e-12")
    distances = [D(r["distance_to_liquidation"]) if r["distance_to_liquidation"] else D("Infinity") for r in rows]
    assert distances == sorted(distances)  # the default sort: nearest liquidation first


def test_previous_leads_back_to_the_first_page(client, api_protocol: ApiProtocol):
    first = client.get(reverse("riskgov:api-positions"), {"page_size": 3}).json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"market": "DOGE"}, "market"),
        ({"side": "up"}, "side"),
        ({"sort": "random"}, "sort"),
        ({"page_size": "0"}, "page_size"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"cursor": "W10"}, "cursor"),  # base64 of "[]": decodes, but is no cursor
        ({"market": "E\x00TH"}, "market"),
    ],
)
def test_bad_position_filters_are_a_400_naming_the_field(client, api_protocol: ApiProtocol, params, field):
    response = client.get(reverse("riskgov:api-positions"), params)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_snapshot_history_filters_by_scope_and_time(client, api_protocol: ApiProtocol):
    url = reverse("riskgov:api-snapshots")
    everything = client.get(url).json()
    assert everything["count"] == len(api_protocol.earlier) + len(api_protocol.latest)
    protocol_rows = client.get(url, {"scope": PROTOCOL_SCOPE}).json()["results"]
    assert [r["id"] for r in protocol_rows] == [api_protocol.latest[0].pk, api_protocol.earlier[0].pk]
    cut = api_protocol.latest[0].taken_at.isoformat()
    recent = client.get(url, {"taken_after": cut}).json()["results"]
    assert {r["id"] for r in recent} == {s.pk for s in api_protocol.latest}
    bad = client.get(url, {"taken_after": "yesterday"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "taken_after"


def test_latest_set_liquidation_map_and_shock_table_are_the_stored_figures(client, api_protocol: ApiProtocol):
    latest = client.get(reverse("riskgov:api-snapshots-latest")).json()
    assert [s["id"] for s in latest["snapshots"]] == [s.pk for s in api_protocol.latest]
    assert latest["health"]["failing_since"] is None
    protocol, *markets = api_protocol.latest
    mapped = [s for s in api_protocol.latest if s.liquidation_map.get("moves_pct")]
    shocks = client.get(reverse("riskgov:api-shocks")).json()
    keys = sorted(protocol.shock_bad_debt, key=float)
    assert shocks["moves_pct"] == [float(k) for k in keys]
    assert shocks["rows"][0] == {"scope": "ALL", "values": [float(protocol.shock_bad_debt[k]) for k in keys]}
    liquidation_map = client.get(reverse("riskgov:api-liquidation-map")).json()
    assert [row["scope"] for row in liquidation_map["rows"]] == [s.scope for s in mapped]
    assert liquidation_map["rows"][-1]["values"] == mapped[-1].liquidation_map["notional"]
    detail = client.get(reverse("riskgov:api-snapshot", kwargs={"snapshot_id": markets[0].pk})).json()
    assert detail["liquidation_map"] == markets[0].liquidation_map and detail["market"] == markets[0].scope


def test_an_infinite_stored_percentile_is_null_not_invalid_json(client, api_protocol: ApiProtocol):
    # the earlier set, at lower marks, has underwater ETH positions among the top decile: no finite leverage
    eth = next(s for s in api_protocol.earlier if s.scope == "ETH")
    assert eth.leverage_p90 == float("inf")
    body = client.get(reverse("riskgov:api-snapshot", kwargs={"snapshot_id": eth.pk})).json()
    assert body["leverage_p90"] is None and body["leverage_p50"] == eth.leverage_p50
    listed = client.get(reverse("riskgov:api-snapshots"), {"scope": "ETH"}).json()["results"]
    assert [r["leverage_p90"] for r in listed] == [api_protocol.latest[-1].leverage_p90, None]


def test_before_the_first_snapshot_the_tables_are_empty(client, db):
    assert client.get(reverse("riskgov:api-shocks")).json() == {"taken_at": None, "moves_pct": [], "rows": []}
    assert client.get(reverse("riskgov:api-snapshots-latest")).json()["snapshots"] == []


@pytest.mark.parametrize(
    ("value", "status"),
    [("7214-07-26T13:47:21.412-19:32", 200), ("9999-12-31T23:00:00-19:00", 400), ("0001-01-01T00:30:00+01:00", 400)],
)
def test_instants_with_offsets_the_database_refuses_are_converted_or_refused(client, db, value, status):
    response = client.get(reverse("riskgov:api-snapshots"), {"taken_after": value})
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["field"] == "taken_after"
