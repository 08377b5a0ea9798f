"""Every main page in Chromium, as a person sees it: the text and figures on screen, charts drawn with data, no
console errors (a CSP violation is one), and nothing wider than a 390 px phone where the page is meant for phones.

One browser for the whole module (Playwright's sync API allows one per thread at a time, and the other browser
tests start their own). Screenshots at 1440 and 390 px go to var/screenshots/pages/.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal as D
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from insurance.models import CoverageRun, RunStatus
from riskgov.markets.models import MarginParameters, ParameterRule
from riskgov.monitoring.models import Alert, AlertKind, AlertRule
from riskgov.monitoring.services.monitoring import alerts_evaluate
from riskgov.reports.models import ExposureReport
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, require_service
from tests.factories import PositionFactory
from tests.governance import conftest as governance
from tests.governance.conftest import make_proposal
from tests.insurance.conftest import build_book, kill_worker, start_worker
from tests.insurance.test_drills import DRILL_WORKER, _first_marker
from tests.markets.views_helpers import build_hand_made, bulk_positions, take_snapshots
from tests.monitoring.conftest import add_hourly_prices, make_market

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
chain, holders, gov_settings = governance.chain, governance.holders, governance.gov_settings  # the fixtures

SHOTS = REPO_ROOT / "var" / "screenshots" / "pages"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
# how far the page reaches past the screen's right edge (0 when nothing is wider than the viewport)
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
WAIT = 20_000  # ms


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_service(
        Path(CHROMIUM).exists() or shutil.which("chromium") is not None, "Chromium (apt-get install chromium)"
    )
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(autouse=True)
def _default_guardrail_rules(transactional_db: None) -> None:
    """The default guardrail rules a migration creates, back after an earlier test emptied the tables
    (idempotent: get_or_create)."""
    rules = import_module("riskgov.migrations.0002_default_rules_and_schedule").DEFAULT_RULES
    for name, (low, high, abs_change, rel_change) in rules.items():
        ParameterRule.objects.get_or_create(
            field=name,
            market=None,
            defaults={"min_value": low, "max_value": high, "max_abs_change": abs_change, "max_rel_change": rel_change},
        )


@dataclass
class Visitor:
    """A browser tab at 1440 px that records console errors and uncaught exceptions."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")

    def text(self, selector: str) -> str:
        return str(self.page.inner_text(selector))

    def points(self, canvas: str) -> int:
        """Data points a chart was drawn with (set by the chart scripts once Chart.js has built it)."""
        self.page.wait_for_selector(f"{canvas}[data-points]", state="attached", timeout=WAIT)
        return int(self.page.get_attribute(canvas, "data-points") or 0)

    def shots(self, name: str, *, phone_fits: bool = True) -> None:
        """Full-page screenshots at 1440 and 390 px; at 390 px nothing may reach past the screen."""
        self.page.screenshot(path=str(SHOTS / f"{name}-1440.png"), full_page=True)
        self.page.set_viewport_size(PHONE)
        self.page.wait_for_timeout(150)  # charts resize on the next frame
        overflow = self.page.evaluate(OVERFLOW)
        self.page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
        self.page.set_viewport_size(DESKTOP)
        if phone_fits:
            assert overflow == 0, f"{name}: {overflow} px wider than a 390 px phone"

    def no_errors(self) -> None:
        assert self.errors == [], self.errors


@pytest.fixture
def visitor(browser: Any, live_server: Any) -> Iterator[Visitor]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(WAIT)
    found = Visitor(page=page, base=live_server.url)
    page.on("console", lambda message: message.type == "error" and found.errors.append(f"{page.url}: {message.text}"))
    page.on("pageerror", lambda error: found.errors.append(f"{page.url}: {error}"))
    try:
        yield found
    finally:
        context.close()


def sign_in(visitor: Visitor, *, username: str = "root") -> Any:
    users = get_user_model()
    user = users.objects.filter(username=username).first() or users.objects.create_superuser(username, password="pw")
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    visitor.page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": visitor.base}])
    return user


def listed_ids(visitor: Visitor) -> list[str]:
    return [
        str(v)
        for v in visitor.page.eval_on_selector_all("tr[data-position]", "rows => rows.map(r => r.dataset.position)")
    ]


# ------------------------------------------------------------------ dashboard, markets, positions, account


def test_dashboard_markets_positions_and_an_account(visitor: Visitor) -> None:
    expected = build_hand_made()
    eth = expected[0].position.market
    bulk_positions(eth, 60, start=100)  # more than a page of ETH positions
    take_snapshots(count=3)
    total = len(expected) + 60

    # Dashboard: headline figures from the snapshot, charts drawn with data.
    visitor.go("/")
    assert "Protocol exposure" in visitor.text("h1")
    assert f"{total}" in visitor.text("section.stats")
    assert "at snapshot" in visitor.text("section.stats").lower()  # labels are set in capitals
    assert visitor.points("canvas[data-chart=chart-oi]") >= 6  # long, short and cap per market
    assert visitor.points("canvas[data-chart=chart-shocks]") >= 1
    assert visitor.points("canvas[data-chart=chart-history]") >= 3
    visitor.page.click(".card:has(canvas[data-chart=chart-history]) .chart-ranges button:has-text('24 h')")
    assert visitor.page.get_attribute("canvas[data-chart=chart-history]", "data-range") == "24 h"
    assert "Last 24 h" in visitor.text(".card:has(canvas[data-chart=chart-history]) .chart-caption")
    visitor.shots("dashboard")

    # Markets: every mark with its age and source, none flagged.
    visitor.go("/markets/")
    assert visitor.page.locator(".mark-age").count() == 2
    assert "ago" in visitor.text(".mark-age >> nth=0")
    assert visitor.page.locator("[data-flag]").count() == 0
    visitor.shots("markets", phone_fits=False)  # a wide reference table scrolls inside its card

    # A market: live "liquidatable now" is the table's count of liquidatable rows.
    visitor.go("/markets/ETH/")
    live = int(visitor.page.get_attribute("#liquidatable-live [data-count]", "data-count") or -1)
    assert 3 <= live == visitor.page.locator("tr.row-liquidatable").count() <= 25  # all in the table
    assert "liquidatable at snapshot" in visitor.text("#liquidatable-snapshot").lower()
    assert visitor.points("canvas[data-chart=chart-price]") == 2
    visitor.shots("market-eth")

    # Positions: count, filter, sort by heading both ways, paging, export.
    visitor.go("/positions/")
    assert visitor.page.get_attribute("#positions-total", "data-total") == str(total)
    assert visitor.page.locator("tr[data-position]").count() == 50
    visitor.page.select_option("select[name=market]", "BTC")
    visitor.page.wait_for_selector("#positions-total[data-total='4']")
    assert visitor.page.locator("tr[data-position]").count() == 4
    visitor.page.select_option("select[name=market]", "ETH")
    visitor.page.wait_for_selector(f"#positions-total[data-total='{total - 4}']")
    visitor.page.click("th[data-sort=leverage] a")
    visitor.page.wait_for_selector("th[data-sort=leverage][aria-sort=descending]")
    descending = listed_ids(visitor)
    visitor.page.click("th[data-sort=leverage] a")
    visitor.page.wait_for_selector("th[data-sort=leverage][aria-sort=ascending]")
    assert "order=asc" in visitor.page.url and "market=ETH" in visitor.page.url
    ascending_first = listed_ids(visitor)
    assert ascending_first[0] != descending[0]
    visitor.page.click("a[rel=next]")
    visitor.page.wait_for_selector(".pager-label:has-text('Page 2')")
    second = listed_ids(visitor)
    assert len(second) == total - 4 - 50 and not set(second) & set(ascending_first)
    visitor.page.click("a[rel=prev]")
    visitor.page.wait_for_selector(".pager-label:has-text('Page 1')")
    assert listed_ids(visitor) == ascending_first
    with visitor.page.expect_download() as download:
        visitor.page.click("#positions-export")
    exported = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert exported[0][:3] == ["position", "account", "market"]
    assert [row[0] for row in exported[1:]] == ascending_first + second  # the filter and order on screen
    visitor.shots("positions")
    visitor.page.set_viewport_size(PHONE)
    assert visitor.page.evaluate("getComputedStyle(document.querySelector('table.positions thead')).display") == "none"
    visitor.page.set_viewport_size(DESKTOP)

    # Search by account, then the account's page.
    address = expected[1].position.account.address
    visitor.page.fill("input[name=account]", address[:10].lower())
    visitor.page.press("input[name=account]", "Enter")
    mine = [e for e in expected if e.position.account.address == address]
    in_eth = sum(1 for e in mine if e.position.market == eth)  # the market filter still holds
    visitor.page.wait_for_selector(f"#positions-total[data-total='{in_eth}']")
    visitor.page.click(f"a[href='/accounts/{address}/'] >> nth=0")
    visitor.page.wait_for_selector("#account-address")
    assert visitor.text("#account-address") == address
    assert visitor.page.locator("tr[data-position]").count() == len(mine)
    assert visitor.text("#account-pnl").strip()[0] in "+−±"
    visitor.shots("account")
    visitor.no_errors()


# ------------------------------------------------------------------ risk: policy, backtest, alerts


def test_risk_policy_backtest_and_acknowledging_an_alert(visitor: Visitor) -> None:
    market = make_market("ETH")
    add_hourly_prices(market, sigma_hourly=0.004, hours=24 * 12)
    PositionFactory(market=market, size=D("10"), entry_price=D("2000"), collateral=D("400"))
    AlertRule.objects.create(
        name="Open interest near the cap", kind=AlertKind.OI_SHARE_OF_CAP_ABOVE, threshold=D("0.0000001")
    )
    alerts_evaluate()
    assert Alert.objects.count() >= 1
    sign_in(visitor)

    visitor.go("/risk/markets/ETH/policy/")
    assert "Margin policy" in visitor.text("h1") and "Formulas, with today's numbers" in visitor.text("main")
    visitor.shots("risk-policy")

    visitor.go("/risk/markets/ETH/backtest/")
    assert "Backtest" in visitor.text("h1")
    assert visitor.points("canvas[data-margin-chart=bt-margins]") > 10
    assert visitor.points("canvas[data-margin-chart=bt-moves]") > 10
    visitor.shots("risk-backtest")

    visitor.go("/risk/alerts/")
    assert "Open interest near the cap" in visitor.text("main")
    visitor.page.click(".alert-actions summary >> nth=0")
    form = visitor.page.locator("form.alert-form:has(button:has-text('Acknowledge')) >> nth=0")
    form.locator("textarea, input[type=text]").first.fill("Looking at it with the desk")
    form.locator("button:has-text('Acknowledge')").click()
    visitor.page.wait_for_selector(".alert-item-note:has-text('Acknowledged')")
    assert "Looking at it with the desk" in visitor.text(".alert-item-note")
    assert Alert.objects.filter(acknowledged_by="root").exists()
    visitor.shots("risk-alerts")
    visitor.no_errors()


# ------------------------------------------------------------------ admin parameter change, proposal on a phone


def test_admin_changes_a_parameter_and_the_market_shows_the_new_version(visitor: Visitor) -> None:
    market = make_market("ETH")
    add_hourly_prices(market, sigma_hourly=0.002, hours=48)
    before = MarginParameters.objects.filter(market=market).latest("version")
    sign_in(visitor)
    visitor.go(f"/admin/markets/marginparameters/add/?market={market.pk}")
    assert "Version history of ETH-USD" in visitor.text("main, #content")
    new_imr = (before.imr * D("1.05")).quantize(D("0.0001"))
    visitor.page.fill("input[name=imr]", str(new_imr))
    visitor.page.fill("input[name=max_leverage]", "45")  # at most 1/imr
    visitor.page.fill("textarea[name=reason], input[name=reason]", "Tighten ahead of the listing")
    visitor.shots("admin-parameters", phone_fits=False)
    with visitor.page.expect_navigation():
        visitor.page.click("input[type=submit][value='Save new version']")
    errors = visitor.page.locator(".errornote, .errorlist")
    assert errors.count() == 0, errors.all_inner_texts()
    assert "version 2" in visitor.text("body").lower() or "v2" in visitor.text("body")
    after = MarginParameters.objects.filter(market=market).latest("version")
    assert after.version == before.version + 1 and after.imr == new_imr
    visitor.go("/markets/ETH/")
    assert f"v{after.version}" in visitor.text("main") and "in force" in visitor.text("tr.current")
    visitor.no_errors()


def test_a_proposal_page_fits_a_phone(visitor: Visitor, chain: Any, holders: Any, gov_settings: Any) -> None:
    build_hand_made()
    proposal = make_proposal(chain, holders[0], mmr="0.012")
    visitor.go(f"/governance/{proposal.pk}/")
    assert "Raise ETH maintenance margin" in visitor.text("h1")
    visitor.shots("proposal")
    visitor.no_errors()


# ------------------------------------------------------------------ with a worker: insurance and reports

# true once the polled fragment has replaced the one the test tagged and shows `done` chunks done
PROGRESS_SWAPPED = """(done) => {
  const progress = document.querySelector('#run-progress');
  return progress !== null && progress.dataset.tagged === undefined && progress.dataset.chunksDone === done;
}"""
CHUNK_STATUSES = "rows => rows.map(row => row.dataset.chunkStatus)"


@dataclass(frozen=True)
class HoldingWorker:
    """A real worker that holds the second chunk it starts until `release()` (DRILL_WORKER's file markers)."""

    markers: Path

    def held_chunk_start(self) -> int:
        """The first path of the chunk being held, once the worker holds it."""
        return int(_first_marker(self.markers, "held-chunk-", timeout=60).name.rsplit("-", 1)[1])

    def release(self) -> None:
        (self.markers / "release").write_text("")


@pytest.fixture
def holding_worker(django_db_setup: None, tmp_path: Path, settings: Any) -> Iterator[HoldingWorker]:
    """One worker process on the test broker and database, holding its second chunk. The test's chunks go to a
    queue of their own that only this worker consumes (the suite's shared worker may be running beside it and
    would otherwise take some of them); it takes the default queue too, for the merges."""
    from config.celery_app import app

    markers = tmp_path / "markers"
    markers.mkdir()
    settings.INSURANCE_CHUNK_QUEUE = f"browser-chunks-{uuid.uuid4().hex[:8]}"
    process = start_worker(
        hostname="browserworker@%h",
        log_name="test-worker-browser.log",
        bootstrap=DRILL_WORKER,
        queue=f"{settings.INSURANCE_CHUNK_QUEUE},{app.conf.task_default_queue}",
        env={"DRILL_MARKERS": str(markers), "DRILL_HOLD_CHUNKS": "2"},
    )
    worker = HoldingWorker(markers=markers)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5, destination=[f"browserworker@{socket.gethostname()}"]):
            assert process.poll() is None, "the worker exited; see var/test-worker-browser.log"
            assert time.monotonic() < deadline, "the worker did not answer within 60 s"
        yield worker
    finally:
        worker.release()
        kill_worker(process)


@pytest.mark.integration
def test_insurance_run_progress_charts_and_compare_then_a_report(
    visitor: Visitor, holding_worker: HoldingWorker
) -> None:
    build_book(positions=150)
    add_hourly_prices(make_market("SOL"), sigma_hourly=0.003, hours=24 * 3)
    take_snapshots()
    sign_in(visitor)

    def start_run(label: str, paths: int) -> CoverageRun:
        visitor.go("/insurance/runs/new/")
        visitor.page.fill("input[name=label]", label)
        visitor.page.fill("input[name=paths]", str(paths))
        visitor.page.fill("input[name=steps]", "24")
        visitor.page.click("button:has-text('Start run')")
        visitor.page.wait_for_selector("#run-progress, section.stats[aria-label='Coverage headline']")
        return CoverageRun.objects.get(label=label)

    run = start_run("Browser baseline", paths=4000)  # 4 chunks of 1,000 paths
    assert run.chunk_count == 4
    held = run.chunks.get(path_start=holding_worker.held_chunk_start())
    # the worker finished one chunk and holds the next: the page, as polled, shows the run part-way
    visitor.page.eval_on_selector("#run-progress", "progress => { progress.dataset.tagged = 'yes'; }")
    visitor.page.wait_for_function(PROGRESS_SWAPPED, arg="1", timeout=WAIT)
    assert visitor.page.get_attribute("#run-progress", "data-status") == "running"
    bar = visitor.page.locator("progress.run-progress-bar")
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == ("1", "4")
    assert "1 of 4 chunks" in visitor.text("#run-progress") and "25 %" in visitor.text("#run-progress")
    statuses = visitor.page.eval_on_selector_all("#run-chunks tr[data-chunk-status]", CHUNK_STATUSES)
    assert sorted(statuses) == ["done", "pending", "pending", "running"], statuses
    assert statuses[held.chunk_index] == "running"
    visitor.shots("insurance-run-progress", phone_fits=False)

    holding_worker.release()
    visitor.page.wait_for_selector("section.stats[aria-label='Coverage headline']", timeout=90_000)  # HX-Refresh
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert "p(fund exhausted)" in visitor.text("section.stats[aria-label='Coverage headline']").lower()
    for name in ("histogram", "exceedance", "fund", "markets"):
        assert visitor.points(f"canvas[data-insurance-chart={name}]") > 0, name
    visitor.shots("insurance-run")

    other = start_run("Browser second", paths=400)
    visitor.page.wait_for_selector("section.stats[aria-label='Coverage headline']", timeout=90_000)
    visitor.go(f"/insurance/runs/compare/?a={run.pk}&b={other.pk}")
    assert visitor.points("canvas[data-insurance-chart=compare]") > 0
    assert "Browser second" in visitor.text("main")
    visitor.shots("insurance-compare", phone_fits=False)

    # Reports: generate one now, open its HTML, download its PDF and CSV.
    visitor.go("/reports/")
    visitor.page.click("button:has-text('Generate now')")
    visitor.page.wait_for_selector(".message-success")
    deadline = time.monotonic() + 60
    while not ExposureReport.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.3)
    report = ExposureReport.objects.get()
    visitor.go("/reports/")
    visitor.page.click(f"a[href='/reports/{report.pk}/'] >> nth=0")
    visitor.page.wait_for_selector("h1")
    assert report.schedule.name in visitor.text("main") or "report" in visitor.text("h1").lower()
    for suffix, kind in (("pdf", b"%PDF"), ("csv", None)):
        response = visitor.page.request.get(f"{visitor.base}/reports/{report.pk}/report.{suffix}")
        assert response.ok, (suffix, response.status)
        body = response.body()
        if kind:
            assert body.startswith(kind)
        else:
            assert re.match(rb"[a-z_]+,", body)
    visitor.shots("report", phone_fits=False)
    visitor.no_errors()
