"""The Liquidations page: list, filters, paging, chart data, and starting a coverage backtest."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from insurance.models import InsuranceFund
from insurance.services.coverage_files import run_files_delete
from riskgov.core.roles import Role, role_assign
from riskgov.markets.models import Liquidation, LiquidationSource, liquidation_notional
from riskgov.monitoring.models import BacktestStatus, CoverageBacktest
from riskgov.monitoring.services.coverage_backtest import coverage_backtest_compute, coverage_backtest_request
from tests.factories import MarketFactory
from tests.monitoring.coverage_backtest_helpers import baseline_run, liquidation

URL = "/risk/liquidations/"
TODAY = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _liquidation(market, *, days_ago: int, notional: str, bad_debt: str = "0", external_id: str) -> Liquidation:
    price = D("100")
    size = D(notional) / price
    return Liquidation(
        source=LiquidationSource.IMPORT,
        external_id=external_id,
        market=market,
        liquidated_at=TODAY - timedelta(days=days_ago) + timedelta(hours=6),
        size=size,
        price=price,
        notional=liquidation_notional(size, price),
        penalty=D("1"),
        bad_debt=D(bad_debt),
    )


@pytest.fixture
def history(db):
    eth, btc = MarketFactory(symbol="ETH"), MarketFactory(symbol="BTC")
    rows = [
        _liquidation(eth, days_ago=3, notional="500", external_id="e1"),
        _liquidation(eth, days_ago=3, notional="5000", bad_debt="40", external_id="e2"),
        _liquidation(eth, days_ago=2, notional="50000", external_id="e3"),
        _liquidation(btc, days_ago=2, notional="2000000", bad_debt="1200", external_id="b1"),
        _liquidation(btc, days_ago=1, notional="250000", external_id="b2"),
    ]
    Liquidation.objects.bulk_create(rows)
    return eth, btc


def _chart(response, chart_id: str) -> dict:
    found = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', response.content.decode())
    assert found, chart_id
    return json.loads(found.group(1))


def test_the_page_lists_every_liquidation_with_totals_and_charts(client, history, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('data-liquidation="') == 5
    assert response.context["totals"].count == 5
    assert response.context["totals"].bad_debt == D("1240")
    by_day = _chart(response, "liq-by-day")
    days = [(TODAY - timedelta(days=n)).date().isoformat() for n in (3, 2, 1)]
    assert by_day["labels"] == days
    assert by_day["datasets"][0]["data"] == [5500.0, 2050000.0, 250000.0]
    assert by_day["datasets"][1]["data"] == [40.0, 1200.0, 0.0]
    assert _chart(response, "liq-count-by-day")["datasets"][0]["data"] == [2, 2, 1]
    by_market = _chart(response, "liq-by-market")
    assert by_market["labels"] == ["BTC", "ETH"]
    assert by_market["datasets"][0]["data"] == [2250000.0, 55500.0]
    # < 1K, 1K–10K, 10K–100K, 100K–1M, ≥ 1M
    assert _chart(response, "liq-by-size")["datasets"][0]["data"] == [1, 1, 1, 1, 1]


@pytest.mark.usefixtures("history")
def test_filters_by_market_and_days(client):
    since = (TODAY - timedelta(days=2)).date().isoformat()
    response = client.get(URL, {"market": "ETH", "since": since, "until": since})

    assert response.status_code == 200
    assert re.findall(r'data-liquidation="(\w+)"', response.content.decode()) == ["e3"]
    assert _chart(response, "liq-by-market")["labels"] == ["ETH"]


def test_bad_filters_answer_400_naming_the_field(client, history):
    response = client.get(URL, {"since": "2025-03-02", "until": "2025-03-01"})
    assert response.status_code == 400
    assert "until: The end (2025-03-01) is before the start (2025-03-02)." in response.content.decode()
    response = client.get(URL, {"market": "DOGE"})
    assert response.status_code == 400
    assert "market:" in response.content.decode()


def test_pages_of_fifty_keep_the_filters(client, db):
    eth = MarketFactory(symbol="ETH")
    Liquidation.objects.bulk_create(
        [_liquidation(eth, days_ago=1 + i % 3, notional="100", external_id=f"p{i}") for i in range(60)]
    )
    first = client.get(URL, {"market": "ETH"})
    assert first.content.decode().count('data-liquidation="') == 50
    assert "market=ETH&amp;page=2" in first.content.decode()
    second = client.get(URL, {"market": "ETH", "page": 2})
    ids = set(re.findall(r'data-liquidation="(\w+)"', second.content.decode()))
    assert len(ids) == 10
    assert ids.isdisjoint(re.findall(r'data-liquidation="(\w+)"', first.content.decode()))


@pytest.fixture
def steward(db):
    user = get_user_model().objects.create_user("steward", password="pw", is_staff=True)
    role_assign(user=user, roles=[Role.RISK_STEWARD])
    return user


def test_a_steward_queues_a_backtest_and_bad_days_are_refused(
    client, steward, _tasks_stay_off_the_broker, django_capture_on_commit_callbacks
):
    client.force_login(steward)
    start = (TODAY - timedelta(days=10)).date()
    end = (TODAY - timedelta(days=1)).date()

    refused = client.post(reverse("monitoring:coverage-backtest-start"), {"start": end, "end": start,
                                                                          "max_run_age_hours": 48})  # fmt: skip
    assert refused.status_code == 400
    assert f"The end ({start}) is before the start ({end})." in refused.content.decode()
    today = client.post(reverse("monitoring:coverage-backtest-start"), {"start": start, "end": TODAY.date(),
                                                                        "max_run_age_hours": 48})  # fmt: skip
    assert today.status_code == 400
    assert "The end must be a day that is over" in today.content.decode()
    assert not CoverageBacktest.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("monitoring:coverage-backtest-start"), {"start": start, "end": end, "max_run_age_hours": 36}
        )
    assert response.status_code == 302
    backtest = CoverageBacktest.objects.get()
    assert (backtest.start, backtest.end, backtest.max_run_age_hours) == (start, end, 36)
    assert backtest.requested_by == "steward"
    assert [name for name, *_ in _tasks_stay_off_the_broker] == ["riskgov.coverage_backtest"]
    assert _tasks_stay_off_the_broker[0][2] == {"backtest_id": backtest.pk}
    page = client.get(URL)
    assert f"Backtest #{backtest.pk}" in page.content.decode() and "is queued" in page.content.decode()


@pytest.fixture
def computed_backtest(db):
    fund = InsuranceFund.objects.create(name="Fund")
    eth = MarketFactory(symbol="ETH")
    start = TODAY - timedelta(days=3)
    runs = [baseline_run(fund, finished_at=start + timedelta(days=d, hours=-2), bad_debt=np.arange(100.0))
            for d in range(3)]  # fmt: skip
    liquidation(eth, at=start + timedelta(hours=1), bad_debt="99", external_id="big")
    backtest = coverage_backtest_request(start=start.date(), end=(TODAY - timedelta(days=1)).date(),
                                         requested_by="risk", enqueue=False)  # fmt: skip
    coverage_backtest_compute(backtest_id=backtest.pk)
    yield backtest, runs
    for run in runs:
        run_files_delete(run.results_file.rsplit("/", 1)[0])


def test_the_page_shows_the_backtest_with_its_runs_and_tests(client, computed_backtest):
    backtest, runs = computed_backtest
    response = client.get(URL)
    body = response.content.decode()

    assert response.status_code == 200
    assert f"Backtest #{backtest.pk} of" in body
    for run in runs:
        assert reverse("insurance:run-detail", args=[run.pk]) in body
    assert body.count('<tr data-level="') == 3
    chart = _chart(response, "backtest-chart")
    assert chart["realised"] == [99.0, 0.0, 0.0]
    assert chart["exceeded"] == [True, False, False]  # 99 is above the 99 % quantile (98)
    assert chart["quantiles"][0]["data"] == [89.0, 89.0, 89.0]
    assert chart["runs"] == [run.pk for run in runs] and chart["ages"] == [2.0, 2.0, 2.0]


@pytest.mark.integration
def test_the_worker_computes_a_requested_backtest(transactional_db, celery_worker_process):
    backtest = coverage_backtest_request(
        start=(TODAY - timedelta(days=3)).date(), end=(TODAY - timedelta(days=1)).date(), requested_by="risk"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        backtest.refresh_from_db()
        if not backtest.is_active:
            break
        time.sleep(0.2)
    assert backtest.status == BacktestStatus.SUCCEEDED, backtest.error
    assert [s["reason"] for s in backtest.skipped] == ["no baseline run finished before the day"] * 3
    assert backtest.finished_at is not None and backtest.finished_at > datetime(2020, 1, 1, tzinfo=UTC)
