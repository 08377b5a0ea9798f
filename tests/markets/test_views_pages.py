"""Dashboard, markets list and market page: render with data and empty; staff-only snapshot button."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal as D
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from riskgov.core.models.versions import ChangeSource
from riskgov.core.roles import Role, role_assign
from riskgov.markets.selectors.overview import thin_indices
from tests.factories import MarginParametersFactory, MarketFactory, PriceObservationFactory
from tests.markets.views_helpers import build_hand_made, build_markets, take_snapshots

DASHBOARD = reverse("riskgov:dashboard")


def chart(response, chart_id: str) -> dict:
    body = response.content.decode()
    start = body.index(f'<script id="{chart_id}" type="application/json">') + len(
        f'<script id="{chart_id}" type="application/json">'
    )
    return json.loads(body[start : body.index("</script>", start)])


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_user("risk", password="pw", is_staff=True)
    role_assign(user=user, roles=[Role.RISK_STEWARD])
    client.force_login(user)
    return client


def test_dashboard_empty_state_for_visitors(client, db):
    response = client.get(DASHBOARD)
    body = response.content.decode()
    assert response.status_code == 200
    assert "No exposure snapshot yet" in body and "every 5 minutes" in body
    assert reverse("riskgov:snapshot-run") not in body  # the button is for staff only
    assert "Log in" in body and ">Admin<" not in body


def test_dashboard_empty_state_offers_staff_the_snapshot_button(staff_client):
    body = staff_client.get(DASHBOARD).content.decode()
    assert reverse("riskgov:snapshot-run") in body and ">Admin<" in body and "Log out" in body


def test_snapshot_run_enqueues_the_task_after_commit(staff_client, django_capture_on_commit_callbacks):
    with (
        mock.patch("riskgov.markets.tasks.exposure_snapshot.delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = staff_client.post(reverse("riskgov:snapshot-run"))
    assert response.status_code == 302 and response["Location"] == DASHBOARD
    assert len(callbacks) == 1 and delay.call_count == 1


def test_snapshot_run_is_staff_only_and_post_only(client, staff_client):
    with mock.patch("riskgov.markets.tasks.exposure_snapshot.delay") as delay:
        assert staff_client.get(reverse("riskgov:snapshot-run")).status_code == 405
        client.logout()
        response = client.post(reverse("riskgov:snapshot-run"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    delay.assert_not_called()


def test_dashboard_shows_the_latest_snapshot_set(client, db):
    expected = build_hand_made()
    take_snapshots(count=3)
    response = client.get(DASHBOARD)
    body = response.content.decode()
    assert response.status_code == 200
    protocol = response.context["dashboard"].protocol
    assert protocol.position_count == len(expected)
    assert protocol.liquidatable_count == sum(1 for e in expected if e.risk.liquidatable)
    oi = chart(response, "chart-oi")
    assert oi["labels"] == ["BTC", "ETH"]
    eth_long = sum(e.risk.notional for e in expected if e.position.market.symbol == "ETH" and e.position.size > 0)
    assert oi["datasets"][0]["data"][1] == pytest.approx(float(eth_long))
    assert len(chart(response, "chart-history")["labels"]) == 3
    liquidation_map = chart(response, "chart-liqmap")
    assert [d["label"] for d in liquidation_map["datasets"]] == ["BTC", "ETH"]
    assert sum(chart(response, "chart-leverage")["datasets"][0]["data"]) == len(expected)
    assert "−50 %" in body or "-50 %" in body  # shock table header
    assert "No exposure snapshot yet" not in body


def test_market_list(client, db):
    build_hand_made()
    take_snapshots()
    MarketFactory(symbol="NEW")  # no price, no parameters, not in the snapshot
    response = client.get(reverse("riskgov:market-list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "ETH" in body and "BTC" in body and "60,000.00" in body
    assert "No parameters in force" in body and "Not in the latest snapshot" in body


def test_market_list_empty(client, db):
    assert "No active markets yet" in client.get(reverse("riskgov:market-list")).content.decode()


def test_market_page_with_history_and_nearest_liquidation(client, db):
    expected = build_hand_made()
    eth = expected[0].position.market
    MarginParametersFactory(
        market=eth, version=2, imr=D("0.025"), mmr=D("0.0125"), source=ChangeSource.ADMIN, reason="Vol up", actor="ops"
    )
    take_snapshots(count=2)
    response = client.get(reverse("riskgov:market-detail", args=["eth"]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Vol up" in body and "Admin (steward)" in body and "in force" in body
    assert chart(response, "chart-params")["datasets"][0]["data"] == [2.0, 2.5]
    assert len(chart(response, "chart-price")["labels"]) == 2
    assert len(chart(response, "chart-history")["labels"]) == 2
    nearest = response.context["detail"].nearest
    assert [r.market.symbol for r in nearest] == ["ETH"] * sum(1 for e in expected if e.position.market == eth)
    distances = [r.risk.distance_to_liquidation for r in nearest]
    assert distances == sorted(distances)


def test_market_page_without_data(client, db):
    MarketFactory(symbol="NEW")
    response = client.get(reverse("riskgov:market-detail", args=["NEW"]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "No parameter versions yet." in body and "cannot be computed" in body


def test_unknown_market_is_404(client, db):
    assert client.get(reverse("riskgov:market-detail", args=["NOPE"])).status_code == 404


def test_price_chart_is_thinned_to_500_points(client, db):
    eth, _ = build_markets()
    now = timezone.now()
    for i in range(1200):
        PriceObservationFactory(market=eth, price=D(3000 + i), observed_at=now - timedelta(minutes=30 * i + 5))
    labels = chart(client.get(reverse("riskgov:market-detail", args=["ETH"])), "chart-price")["labels"]
    assert len(labels) <= 500 and labels == sorted(labels)


@pytest.mark.parametrize("count", [0, 1, 499, 500, 501, 10_000])
def test_thin_indices_keep_first_and_last(count):
    kept = thin_indices(count)
    assert len(kept) == min(count, 500)
    if count:
        assert kept[0] == 0 and kept[-1] == count - 1 and kept == sorted(set(kept))
