"""A small protocol for coverage runs: two markets with hourly price history, a few hundred positions,
and a funded insurance fund; plus helpers to start an extra worker and wait for runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.db import connection

from insurance.models import CoverageRun, EntryKind, InsuranceFund
from insurance.services.ledger import ledger_entry_record
from riskgov.markets.models import Account, Position, PriceObservation
from tests.factories import MarginParametersFactory, MarketFactory, address_for

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
REPO_ROOT = Path(__file__).resolve().parents[2]
FUND_DEPOSIT = D("250000")


def build_book(*, positions: int = 300, history_hours: int = 24 * 6, seed: int = 11) -> InsuranceFund:
    """ETH and BTC with `history_hours` hourly prices up to NOW, `positions` open positions, a funded fund."""
    rng = np.random.default_rng(seed)
    eth = MarketFactory(symbol="ETH", depth=D("20000000"), reference_volatility=D("0.7"))
    btc = MarketFactory(symbol="BTC", depth=D("50000000"), reference_volatility=D("0.6"))
    MarginParametersFactory(
        market=eth, imr=D("0.05"), mmr=D("0.03"), liquidation_penalty=D("0.01"), max_leverage=D("20")
    )
    MarginParametersFactory(
        market=btc, imr=D("0.04"), mmr=D("0.02"), liquidation_penalty=D("0.008"), max_leverage=D("25")
    )
    observations = []
    for market, start, vol in ((eth, 3000.0, 0.9), (btc, 60000.0, 0.7)):
        hourly = rng.normal(0.0, vol / np.sqrt(24 * 365), history_hours)
        prices = start * np.exp(np.cumsum(hourly[::-1]))[::-1]
        for hour, price in enumerate(prices):
            observed = NOW - timedelta(hours=history_hours - 1 - hour, minutes=1)
            observations.append(
                PriceObservation(market=market, price=D(f"{price:.6f}"), observed_at=observed, source="test")
            )
    PriceObservation.objects.bulk_create(observations)
    accounts = Account.objects.bulk_create([Account(address=address_for(9000 + i)) for i in range(10)])
    marks = {eth.pk: float(observations[history_hours - 1].price), btc.pk: float(observations[-1].price)}
    rows = []
    for i in range(positions):
        market = eth if i % 3 else btc
        mark = marks[market.pk]
        side = 1 if rng.random() < 0.6 else -1
        notional = float(rng.lognormal(np.log(20_000), 1.0))
        leverage = float(rng.uniform(2, 18))
        entry = mark * float(rng.uniform(0.97, 1.03))
        rows.append(
            Position(
                external_id=f"cov-{i}",
                account=accounts[i % len(accounts)],
                market=market,
                size=D(f"{side * notional / mark:.8f}"),
                entry_price=D(f"{entry:.6f}"),
                collateral=D(f"{notional / leverage:.6f}"),
                opened_at=NOW - timedelta(days=2),
            )
        )
    Position.objects.bulk_create(rows)
    fund = InsuranceFund.objects.create(name="Protocol fund")
    ledger_entry_record(
        fund=fund,
        kind=EntryKind.DEPOSIT,
        amount=FUND_DEPOSIT,
        external_ref="seed-deposit",
        note="initial capital",
        recorded_by="test",
        occurred_at=NOW - timedelta(days=3),
    )
    return fund


@pytest.fixture
def book(db: None) -> InsuranceFund:
    return build_book()


def wait_for_run(
    run: CoverageRun, *, timeout: float = 90.0, until: Callable[[CoverageRun], bool] | None = None
) -> CoverageRun:
    """Poll the database until the run is finished (or `until` holds); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    done = until or (lambda r: not r.is_active)
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if done(run):
            return run
        time.sleep(0.1)
    pytest.fail(f"run #{run.pk} still {run.status} ({run.chunks_done}/{run.chunk_count}) after {timeout} s")


def worker_environment() -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
    }


def start_worker(
    *, hostname: str, queue: str, log_name: str, bootstrap: str | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A dedicated single-process worker on `queue`, in its own process group so it can be killed whole.

    `bootstrap` is Python source run instead of ``-m celery`` (it must hand over to Celery's command line);
    `env` adds variables to the worker's environment.
    """
    log = (REPO_ROOT / "var" / log_name).open("wb")
    entry = ["-c", bootstrap] if bootstrap is not None else ["-m", "celery"]
    return subprocess.Popen(
        [
            sys.executable,
            *entry,
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname={hostname}",
            "-Q",
            queue,
        ],
        cwd=REPO_ROOT,
        env={**worker_environment(), **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_worker(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool processes at once (no warm shutdown, no message handed back)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def coverage_files_cleanup() -> Any:
    """Remove the run directories this session wrote under MEDIA_ROOT/coverage/."""
    root = Path(settings.MEDIA_ROOT) / "coverage"
    before = set(root.iterdir()) if root.is_dir() else set()
    yield
    for directory in (set(root.iterdir()) if root.is_dir() else set()) - before:
        shutil.rmtree(directory, ignore_errors=True)
