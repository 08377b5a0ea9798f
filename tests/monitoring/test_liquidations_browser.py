"""The Liquidations page in Chromium: every chart is drawn by the static scripts (no inline script may run under
the CSP), and nothing on it is refused or fails in the console. Screenshot in test-artifacts/monitoring/."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from insurance.models import InsuranceFund
from insurance.services.coverage_files import run_files_delete
from riskgov.monitoring.services.coverage_backtest import coverage_backtest_compute, coverage_backtest_request
from tests.conftest import REPO_ROOT, chromium_page
from tests.factories import MarketFactory
from tests.monitoring.coverage_backtest_helpers import baseline_run, liquidation
from tests.monitoring.test_liquidations_page import TODAY

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "monitoring"


@pytest.fixture
def history_and_backtest():
    fund = InsuranceFund.objects.create(name="Fund")
    eth, btc = MarketFactory(symbol="ETH"), MarketFactory(symbol="BTC")
    start = TODAY - timedelta(days=4)
    runs = [baseline_run(fund, finished_at=start + timedelta(days=d, hours=-3), bad_debt=np.arange(100.0))
            for d in range(4)]  # fmt: skip
    for day, bad_debt in enumerate(("0", "99", "20", "5")):
        liquidation(eth, at=start + timedelta(days=day, hours=4), bad_debt=bad_debt, external_id=f"e{day}")
        liquidation(btc, at=start + timedelta(days=day, hours=9), bad_debt="0", external_id=f"b{day}")
    backtest = coverage_backtest_request(start=start.date(), end=(TODAY - timedelta(days=1)).date(),
                                         requested_by="risk", enqueue=False)  # fmt: skip
    coverage_backtest_compute(backtest_id=backtest.pk)
    yield
    for run in runs:
        run_files_delete(run.results_file.rsplit("/", 1)[0])


@pytest.mark.usefixtures("history_and_backtest")
def test_the_page_draws_its_charts_without_console_errors(live_server):
    with chromium_page(ARTIFACTS, viewport={"width": 1280, "height": 1600}) as page:
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{live_server.url}/risk/liquidations/")
        page.wait_for_function("document.querySelectorAll('canvas[data-built=\"1\"]').length === 5", timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / "liquidations.png"), full_page=True)
        assert page.locator("#liquidations-table tbody tr").count() == 8
        assert page.locator("#backtest-levels tbody tr").count() == 3
    assert problems == []
