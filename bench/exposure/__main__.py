"""Exposure benchmark: 1,000,000 open positions over 20 markets in PostgreSQL.

Measures the time to write a full snapshot set and the latency (p50/p95) of the dashboard and
the positions list through Django's full request stack. Writes bench/results/exposure.json.
Uses its own database (riskgov_bench) on the PostgreSQL server in BENCH_PG_URL.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench import load_average
from bench.database import fresh_django_database

if TYPE_CHECKING:
    from django.test import Client

LOAD_AT_START = load_average()  # the machine's load as the benchmark starts, recorded with its figures
RESULTS = Path(__file__).resolve().parent.parent / "results" / "exposure.json"
DB_NAME = "riskgov_bench"


def load(positions: int, markets: int, accounts: int, seed: int) -> None:
    from decimal import Decimal

    from django.db import connection

    from riskgov.core.models.versions import ChangeSource
    from riskgov.markets.models import MarginParameters, Market, PriceObservation

    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    market_rows = [Market(symbol=f"M{i:02d}", name=f"Market {i}", depth=Decimal("50000000")) for i in range(markets)]
    Market.objects.bulk_create(market_rows)
    prices = np.exp(rng.uniform(np.log(0.5), np.log(90_000), markets))
    for market, price in zip(Market.objects.order_by("symbol"), prices, strict=True):
        MarginParameters.objects.create(
            market=market,
            version=1,
            imr=Decimal("0.02"),
            mmr=Decimal("0.01"),
            max_leverage=Decimal("50"),
            liquidation_penalty=Decimal("0.005"),
            insurance_fee_share=Decimal("0.2"),
            source=ChangeSource.GENESIS,
            reason="benchmark",
            actor="bench",
            effective_at=now - timedelta(days=1),
        )
        PriceObservation.objects.create(
            market=market, price=Decimal(f"{price:.6f}"), observed_at=now - timedelta(minutes=1), source="bench"
        )
    market_ids = np.array(list(Market.objects.order_by("symbol").values_list("pk", flat=True)))
    with connection.cursor() as cursor:
        buffer = io.StringIO()
        for i in range(accounts):
            buffer.write(f"0x{i:040x}\t\t{now.isoformat()}\n")
        buffer.seek(0)
        with cursor.cursor.copy("COPY riskgov_account (address, label, created_at) FROM STDIN") as copy:
            copy.write(buffer.read())
        cursor.execute("SELECT min(id) FROM riskgov_account")
        first_account = cursor.fetchone()[0]
    which = rng.integers(0, markets, positions)
    notional = np.minimum(rng.pareto(1.3, positions) * 2_000 + 100, 5e7)
    leverage = np.clip(rng.lognormal(np.log(4), 0.8, positions), 1.05, 50)
    entry = prices[which] * np.exp(rng.normal(0, 0.05, positions))
    quantity = notional / entry
    side = np.where(rng.random(positions) < 0.55, 1.0, -1.0)
    collateral = notional / leverage
    account = first_account + np.minimum(rng.zipf(1.6, positions) - 1, accounts - 1)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        columns = "(external_id, account_id, market_id, size, entry_price, collateral, status, opened_at, updated_at)"
        with cursor.cursor.copy(f"COPY riskgov_position {columns} FROM STDIN") as copy:
            stamp = now.isoformat()
            for start in range(0, positions, 100_000):
                stop = min(start + 100_000, positions)
                lines = [
                    f"bench-{i}\t{account[i]}\t{market_ids[which[i]]}\t{side[i] * quantity[i]:.12g}\t{entry[i]:.10g}\t"
                    f"{collateral[i]:.10g}\topen\t{stamp}\t{stamp}\n"
                    for i in range(start, stop)
                ]
                copy.write("".join(lines))
        cursor.execute("ANALYZE")
    print(f"loaded {positions:,} positions in {time.perf_counter() - started:.1f}s", file=sys.stderr)


def percentile(values: list[float], q: float) -> float:
    return float(np.quantile(np.array(values), q))


def latency(client: Client, path: str, requests: int) -> dict[str, float]:
    for _ in range(3):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return {
        "p50_ms": round(percentile(times, 0.5), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "requests": requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--markets", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--snapshots", type=int, default=3)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-pages", action="store_true", help="measure the snapshot only")
    args = parser.parse_args()

    fresh_django_database(DB_NAME)
    from django.conf import settings
    from django.test import Client

    from riskgov.markets.models import Market
    from riskgov.markets.services.exposure import exposure_snapshot_take

    settings.ALLOWED_HOSTS = ["*"]
    load(args.positions, args.markets, args.accounts, args.seed)

    snapshot_seconds = []
    for i in range(args.snapshots):
        started = time.perf_counter()
        rows = exposure_snapshot_take(taken_at=datetime.now(UTC) - timedelta(seconds=args.snapshots - i))
        snapshot_seconds.append(time.perf_counter() - started)
        print(f"snapshot set {i + 1}: {len(rows)} rows in {snapshot_seconds[-1]:.2f}s", file=sys.stderr)

    client = Client()
    market = Market.objects.order_by("symbol").first()
    assert market is not None
    pages = {
        "dashboard": "/",
        "positions_default": "/positions/",
        "positions_market_long_high_leverage": f"/positions/?market={market.symbol}&side=long&leverage=10-20",
        "positions_near_liquidation_all_markets": "/positions/?distance=10",
        "positions_sorted_by_notional": "/positions/?sort=notional",
        "market_page": f"/markets/{market.symbol}/",
    }
    latencies = {} if args.no_pages else {name: latency(client, path, args.requests) for name, path in pages.items()}
    result = {
        "benchmark": "exposure",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        # 1-, 5- and 15-minute load averages at the start and at the end (other processes share the cores)
        "load_averages": {"start": LOAD_AT_START, "end": load_average()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "positions": args.positions,
        "markets": args.markets,
        "accounts": args.accounts,
        "snapshot_set_seconds": {
            "runs": [round(s, 2) for s in snapshot_seconds],
            "median": round(statistics.median(snapshot_seconds), 2),
            "goal": 10.0,
        },
        "page_latency": latencies,
        "page_latency_goal_p95_ms": 150,
        "notes": "Latency through Django's test client (full middleware and template stack, no network).",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
