"""A small protocol for coverage runs: two markets with hourly price history, a few hundred positions,
and a funded insurance fund; plus helpers to start an extra worker and wait for runs."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.db import connection

from bench.s3server import S3Server, S3ServerError, s3_server_start
from insurance.models import CoverageRun, EntryKind, InsuranceFund
from insurance.services.ledger import ledger_entry_record
from riskgov.markets.models import Account, Position, PriceObservation
from tests.conftest import require_service
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
    *,
    hostname: str,
    log_name: str,
    queue: str | None = None,
    bootstrap: str | None = None,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """A dedicated single-process worker, in its own process group so it can be killed whole.

    `queue` restricts it to one queue (all queues when None); `bootstrap` is Python source run instead of
    ``-m celery`` (it must hand over to Celery's command line); `env` adds variables to the worker's environment
    (after `worker_environment()`); `prefix` runs the command through another, e.g. ``ip netns exec <host>``.
    """
    log = (REPO_ROOT / "var" / log_name).open("wb")
    entry = ["-c", bootstrap] if bootstrap is not None else ["-m", "celery"]
    return subprocess.Popen(
        [
            *prefix,
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
            *(["-Q", queue] if queue is not None else []),
        ],
        cwd=REPO_ROOT,
        env={**worker_environment(), **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_worker(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool processes at once (no warm shutdown, no message handed back)."""
    if process.poll() is None:
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


S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "riskgov-test", "AWS_SECRET_ACCESS_KEY": "riskgov-test-secret"}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    require_service(importlib.util.find_spec("moto") is not None, "moto (the local S3 server)")
    log_path = REPO_ROOT / "var" / "test-s3-server.log"
    log_path.parent.mkdir(exist_ok=True)
    try:
        server = s3_server_start(log=log_path, credentials=S3_CREDENTIALS)
    except S3ServerError as error:
        pytest.fail(str(error))
    yield server
    server.stop()


@dataclass(frozen=True)
class S3Bucket:
    name: str
    server: S3Server

    def environment(self, endpoint: str | None = None) -> dict[str, str]:
        """What a worker's environment needs to keep its run files in this bucket."""
        return {
            "RISKGOV_RUN_STORAGE": "s3",
            "RISKGOV_S3_BUCKET": self.name,
            "RISKGOV_S3_ENDPOINT_URL": endpoint or self.server.endpoint,
            "RISKGOV_S3_REGION": "us-east-1",
            "RISKGOV_S3_ADDRESSING_STYLE": "path",
            **S3_CREDENTIALS,
        }

    def object_keys(self) -> list[str]:
        listing = self.server.client().list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture
def s3_bucket(s3_server: S3Server, settings: Any, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A fresh bucket, and this process's run storage pointed at it (workers take `environment()`)."""
    from config.settings.storage import run_storage_backend

    bucket = S3Bucket(name=f"riskgov-test-{uuid.uuid4().hex[:12]}", server=s3_server)
    s3_server.client().create_bucket(Bucket=bucket.name)
    for name, value in bucket.environment().items():
        monkeypatch.setenv(name, value)
    import environ

    settings.STORAGES = {**settings.STORAGES, settings.RISKGOV_RUN_STORAGE_ALIAS: run_storage_backend(environ.Env())}
    return bucket
