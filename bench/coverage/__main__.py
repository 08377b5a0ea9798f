"""Coverage benchmark: 100,000 positions, 10,000 paths, 96 steps through Celery with 1 and 2 worker
processes, against the in-process engine on the same frozen inputs.

Creates its own PostgreSQL database (riskgov_bench_coverage on the server in BENCH_PG_URL) and uses
Redis database 14 (BENCH_REDIS_URL) as broker and result backend; starts the workers itself.
Wall time through Celery runs from enqueueing the chunks to the run being merged and stored; the
overhead is relative to one in-process `simulate` + metrics. Writes bench/results/coverage.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.database import fresh_django_database

if TYPE_CHECKING:
    from insurance.engine import SimulationResult
    from insurance.models import CoverageRun

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "bench" / "results" / "coverage.json"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
DB_NAME = "riskgov_bench_coverage"


def load(positions: int, markets: int, seed: int) -> None:
    """Markets with 30 days of hourly prices, `positions` open positions (some close to liquidation), a fund."""
    from django.db import connection

    from insurance.models import EntryKind, InsuranceFund
    from insurance.services.ledger import ledger_entry_record
    from riskgov.core.models.versions import ChangeSource
    from riskgov.markets.models import Account, MarginParameters, Market, PriceObservation

    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    prices = np.exp(rng.uniform(np.log(1.0), np.log(60_000), markets))
    vols = rng.uniform(0.5, 1.2, markets)
    observations = []
    for i in range(markets):
        market = Market.objects.create(symbol=f"M{i:02d}", name=f"Market {i}", depth=Decimal("20000000"))
        MarginParameters.objects.create(
            market=market,
            version=1,
            imr=Decimal("0.04"),
            mmr=Decimal("0.02"),
            max_leverage=Decimal("25"),
            liquidation_penalty=Decimal("0.01"),
            insurance_fee_share=Decimal("0.2"),
            source=ChangeSource.GENESIS,
            reason="benchmark",
            actor="bench",
            effective_at=now - timedelta(days=40),
        )
        hourly = rng.normal(0, vols[i] / np.sqrt(24 * 365), 24 * 30)
        path = prices[i] * np.exp(np.cumsum(hourly[::-1]))[::-1]
        observations += [
            PriceObservation(
                market=market,
                price=Decimal(f"{p:.8g}"),
                source="bench",
                observed_at=now - timedelta(hours=len(path) - h, minutes=1),
            )
            for h, p in enumerate(path)
        ]
    PriceObservation.objects.bulk_create(observations, batch_size=5000)
    accounts = Account.objects.bulk_create([Account(address=f"0x{i:040x}") for i in range(2000)])
    market_ids = list(Market.objects.order_by("symbol").values_list("pk", flat=True))
    which = rng.integers(0, markets, positions)
    notional = np.minimum(rng.pareto(1.3, positions) * 2_000 + 100, 2e7)
    leverage = np.clip(rng.lognormal(np.log(6), 0.7, positions), 1.05, 25)
    entry = prices[which] * np.exp(rng.normal(0, 0.03, positions))
    side = np.where(rng.random(positions) < 0.55, 1.0, -1.0)
    size, collateral = side * notional / entry, notional / leverage
    stamp = now.isoformat()
    buffer = io.StringIO()
    for i in range(positions):
        buffer.write(
            f"cov-{i}\t{accounts[i % len(accounts)].pk}\t{market_ids[which[i]]}\t{size[i]:.12g}\t"
            f"{entry[i]:.10g}\t{collateral[i]:.10g}\topen\t{stamp}\t{stamp}\n"
        )
    with connection.cursor() as cursor:
        columns = "(external_id, account_id, market_id, size, entry_price, collateral, status, opened_at, updated_at)"
        with cursor.cursor.copy(f"COPY riskgov_position {columns} FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        cursor.execute("ANALYZE")
    fund = InsuranceFund.objects.create(name="Benchmark fund")
    ledger_entry_record(
        fund=fund,
        kind=EntryKind.DEPOSIT,
        amount=Decimal("5000000"),
        external_ref="bench-1",
        note="benchmark capital",
        recorded_by="bench",
        occurred_at=now - timedelta(days=1),
    )


def start_workers(count: int) -> list[subprocess.Popen[bytes]]:
    from config.celery_app import app

    workers = []
    for index in range(count):
        log = (ROOT / "var" / f"bench-coverage-worker-{index}.log").open("wb")
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--loglevel=WARNING",
                    "--concurrency=1",
                    "--without-gossip",
                    "--without-mingle",
                    f"--hostname=bench{index}@%h",
                ],
                cwd=ROOT,
                env=os.environ.copy(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    names = [f"bench{index}@{socket.gethostname()}" for index in range(count)]
    deadline = time.monotonic() + 90
    while len(app.control.ping(timeout=0.5, destination=names) or []) < count:
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            stop_workers(workers)
            raise SystemExit("benchmark workers did not start; see var/bench-coverage-worker-*.log")
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def new_run(paths: int, steps: int, label: str, *, chunk_size: int) -> CoverageRun:
    from insurance.services.coverage_runs import coverage_run_create

    return coverage_run_create(
        label=label, requested_by="bench", paths=paths, steps=steps, seed=2024, chunk_size=chunk_size, enqueue=False
    )


def through_celery(run: CoverageRun, timeout: float = 1800.0) -> float:
    """Seconds from enqueueing the run's chunks to the merged run being stored."""
    from insurance.services.coverage_runs import coverage_run_enqueue

    started = time.perf_counter()
    coverage_run_enqueue(run_id=run.pk)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        run.refresh_from_db(fields=["status", "error"])
        if not run.is_active:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    run.refresh_from_db()
    if run.status != "succeeded":
        raise SystemExit(f"run #{run.pk} ended {run.status}: {run.error}")
    return elapsed


def time_in_process(args: argparse.Namespace) -> tuple[float, list[float], SimulationResult]:
    """Seconds to create the reference run, seconds of each in-process simulate + metrics, and the last result."""
    from insurance.services.coverage_execution import run_frozen_inputs, run_simulate
    from insurance.services.coverage_metrics import coverage_metrics

    started = time.perf_counter()
    reference_run = new_run(args.paths, args.steps, "in-process reference", chunk_size=args.chunk_size)
    create_seconds = time.perf_counter() - started
    inputs = run_frozen_inputs(reference_run)
    run_simulate(reference_run, inputs, (0, 10))  # load the compiled kernels once
    in_process = []
    expected = None
    for _ in range(args.repeats):
        started = time.perf_counter()
        expected = run_simulate(reference_run, inputs)
        coverage_metrics(expected, target_exhaustion_probability=0.01)
        in_process.append(time.perf_counter() - started)
        print(f"in-process engine: {in_process[-1]:.2f}s", file=sys.stderr)
    assert expected is not None, "--repeats must be at least 1"
    return create_seconds, in_process, expected


def time_through_celery(
    args: argparse.Namespace, expected: SimulationResult
) -> tuple[dict[int, list[float]], dict[int, float], bool]:
    """Seconds of each warm run through 1 and 2 workers, of the cold run (just-started workers: kernels loaded,
    the book decoded and sorted once in each), and whether every merged run equals the in-process one."""
    from insurance.services.coverage_files import RESULT_FIELDS, arrays_read

    celery: dict[int, list[float]] = {}
    cold: dict[int, float] = {}
    identical = True
    for count in (1, 2):
        workers = start_workers(count)
        try:
            # cold: the first full run on fresh worker processes
            run = new_run(args.paths, args.steps, f"{count} cold worker(s)", chunk_size=args.chunk_size)
            cold[count] = through_celery(run)
            stored = arrays_read(run.results_file, run.results_sha256, what="results")
            identical &= all(np.array_equal(stored[name], getattr(expected, name)) for name in RESULT_FIELDS)
            print(f"celery, {count} cold worker(s): {cold[count]:.2f}s", file=sys.stderr)
            celery[count] = []
            for _ in range(args.repeats):
                run = new_run(args.paths, args.steps, f"{count} worker(s)", chunk_size=args.chunk_size)
                celery[count].append(through_celery(run))
                stored = arrays_read(run.results_file, run.results_sha256, what="results")
                identical &= all(np.array_equal(stored[name], getattr(expected, name)) for name in RESULT_FIELDS)
                print(f"celery, {count} worker(s): {celery[count][-1]:.2f}s", file=sys.stderr)
        finally:
            stop_workers(workers)
    return celery, cold, identical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--markets", type=int, default=10)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per configuration (best is reported)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=2500, help="paths per chunk (one task each)")
    args = parser.parse_args()

    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    os.environ["CELERY_RESULT_BACKEND"] = REDIS_URL
    fresh_django_database(DB_NAME)

    from config.celery_app import app

    app.control.purge()
    load_before = os.getloadavg()
    started = time.perf_counter()
    load(args.positions, args.markets, args.seed)
    print(f"loaded {args.positions:,} positions in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    create_seconds, in_process, expected = time_in_process(args)
    celery, cold, identical = time_through_celery(args, expected)

    best = {count: min(times) for count, times in celery.items()}
    engine = min(in_process)
    result = {
        "benchmark": "coverage",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "load_averages_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "positions": args.positions,
        "markets": args.markets,
        "paths": args.paths,
        "steps": args.steps,
        "chunk_size": args.chunk_size,
        "chunks": -(-args.paths // args.chunk_size),
        "run_create_seconds": round(create_seconds, 2),
        "in_process_seconds": {"runs": [round(s, 2) for s in in_process], "best": round(engine, 2)},
        "celery_seconds": {
            f"{count}_worker{'s' if count > 1 else ''}": {
                "runs": [round(s, 2) for s in times],
                "best": round(best[count], 2),
            }
            for count, times in celery.items()
        },
        "celery_cold_seconds": {
            f"{count}_worker{'s' if count > 1 else ''}": round(seconds, 2) for count, seconds in cold.items()
        },
        "cold_over_warm_one_worker": round(cold[1] / best[1], 2),
        "scaling_ratio_1_to_2_workers": round(best[1] / best[2], 2),
        "overhead_one_worker_vs_in_process": round(best[1] / engine - 1, 3),
        "overhead_goal": 0.15,
        "merged_equals_in_process": bool(identical),
        "notes": (
            "Celery wall time runs from enqueueing the chunks to the merged run stored (chunk files, merge, "
            "metrics); the in-process time is one simulate + the same metrics. run_create_seconds (reading "
            "and freezing the positions) is the same for both and excluded. Cold: the first run on just-started "
            "workers (kernels loaded, the book decoded and sorted once per worker); warm: later runs on the same "
            "book (decoded once per run and kept by the worker). Other processes share the cores."
        ),
    }
    from insurance.models import CoverageRun
    from insurance.services.coverage_files import run_files_delete

    for inputs_file in CoverageRun.objects.exclude(inputs_file="").values_list("inputs_file", flat=True):
        run_files_delete(inputs_file.rsplit("/", 1)[0])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
