"""Chart payloads: history charts carry their instants and ranges, each range keeps detail of its own, the OI
chart carries each market's cap, the shock chart asks for a log axis."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from riskgov.markets.selectors.overview import CHART_RANGES, MAX_POINTS, thin_for_ranges
from tests.factories import MarginParametersFactory, PriceObservationFactory
from tests.markets.views_helpers import build_markets, bulk_positions, take_snapshots


def chart(response, chart_id: str) -> dict:
    match = re.search(
        rf'<script id="{chart_id}" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, chart_id
    return json.loads(match.group(1))


def test_every_range_keeps_its_own_share_of_points():
    now = timezone.now()
    times = [now - timedelta(minutes=10 * i) for i in reversed(range(90 * 144))]  # 90 days every 10 minutes
    kept = thin_for_ranges(times, now)
    assert len(kept) <= MAX_POINTS and kept == sorted(set(kept)) and kept[-1] == len(times) - 1
    share = MAX_POINTS // len(CHART_RANGES)
    for _, span in CHART_RANGES:
        inside = [i for i in kept if times[i] >= now - span]
        assert len(inside) >= share, span  # a 24 h view is as detailed as a 90 d one
    assert thin_for_ranges([], now) == []


def test_price_chart_carries_instants_and_ranges(client, db):
    eth, _ = build_markets()
    now = timezone.now()
    for i in range(1, 400):
        PriceObservationFactory(market=eth, price=D(3000 + i), observed_at=now - timedelta(hours=i, minutes=3))
    payload = chart(client.get(reverse("riskgov:market-detail", args=["ETH"])), "chart-price")
    assert len(payload["t"]) == len(payload["labels"]) == len(payload["datasets"][0]["data"]) <= MAX_POINTS
    assert payload["t"] == sorted(payload["t"])
    assert [r["label"] for r in payload["ranges"]] == [label for label, _ in CHART_RANGES]
    assert payload["range"] == "30 d" and abs(payload["now"] / 1000 - now.timestamp()) < 60
    day = [t for t in payload["t"] if t >= payload["now"] - 86400_000]
    assert len(day) == 24  # every hourly price of the last day is kept


def test_dashboard_oi_chart_marks_each_markets_cap_and_shocks_use_a_log_axis(client, db):
    eth, btc = build_markets()
    MarginParametersFactory(market=eth, oi_cap=D("250000000"), version=2)
    bulk_positions(eth, 10)
    bulk_positions(btc, 10)
    take_snapshots()
    response = client.get(reverse("riskgov:dashboard"))
    oi = chart(response, "chart-oi")
    caps = next(d for d in oi["datasets"] if d.get("marker"))
    by_market = dict(zip(oi["labels"], caps["data"], strict=True))
    assert by_market["ETH"] == pytest.approx(250_000_000)
    assert by_market["BTC"] == pytest.approx(500_000_000)  # the factory's default cap
    shocks = chart(response, "chart-shocks")
    assert shocks["y_scale"] == "log" and "-5 %" in shocks["labels"] and "+5 %" in shocks["labels"]
    history = chart(response, "chart-history")
    assert len(history["t"]) == len(history["labels"]) == 1
