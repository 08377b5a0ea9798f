"""Coverage benchmark: 100,000 positions, 10,000 paths, 96 steps through Celery with 1 and 2 worker
processes, against the in-process engine on the same frozen inputs, measured in the same run.

Cold and warm are reported apart. Cold: workers started just before the run, so each worker's first chunk loads
the compiled kernels in its new process, decodes the frozen inputs and sorts the book (once per run and worker).
Warm: further chunks, and further runs on the same inputs. Each phase records the machine's load averages
before and after it, and every Celery figure is also given as a ratio to the in-process figure for the same work.

Creates its own PostgreSQL database (riskgov_bench_coverage on the server in BENCH_PG_URL) and uses
Redis database 14 (BENCH_REDIS_URL) as broker and result backend; starts the workers itself.
Wall time through Celery runs from enqueueing the chunks to the run being merged and stored. Writes
bench/results/coverage.json. Run it under `flock /tmp/coord/bench.lock` where others share the machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench import load_average
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


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 2) if numerator is not None and denominator else None


def time_in_process(args: argparse.Namespace) -> tuple[dict[str, Any], SimulationResult]:
    """The in-process engine on the frozen inputs (compiled kernels loaded first), cold and warm.

    Chunks: `coverage_chunk_simulate` in this process, the very code a worker runs without Celery: the first
    chunk of a run after forgetting the decoded inputs (read, hash, decode, sort the book, simulate, write), then
    the run's other chunks. Whole run: `simulate` + metrics, cold (inputs read and decoded, book sorted) and warm
    (book kept). Each `args.repeats` times (the best is the figure compared). Returns the figures and the last warm
    result.
    """
    from insurance.services.coverage_execution import (
        coverage_chunk_simulate,
        coverage_run_finish,
        run_frozen_inputs,
        run_simulate,
        worker_inputs_forget,
    )
    from insurance.services.coverage_metrics import coverage_metrics

    figures: dict[str, Any] = {"load_before": load_average()}
    started = time.perf_counter()
    reference_run = new_run(args.paths, args.steps, "in-process reference", chunk_size=args.chunk_size)
    figures["run_create_seconds"] = round(time.perf_counter() - started, 2)
    run_simulate(reference_run, run_frozen_inputs(reference_run), (0, 10))  # load the compiled kernels once

    first_chunk: list[float] = []
    later_chunks: list[float] = []
    for _ in range(args.repeats):
        chunk_run = new_run(args.paths, args.steps, "in-process chunks", chunk_size=args.chunk_size)
        worker_inputs_forget()
        for index in range(chunk_run.chunk_count):
            started = time.perf_counter()
            assert coverage_chunk_simulate(run_id=chunk_run.pk, chunk_index=index, enqueue_finish=False)
            (later_chunks if index else first_chunk).append(round(time.perf_counter() - started, 3))
        assert coverage_run_finish(run_id=chunk_run.pk), "the in-process chunks did not merge"
        chunk_run.refresh_from_db()

    def whole_run() -> tuple[float, SimulationResult]:
        started = time.perf_counter()
        result = run_simulate(reference_run, run_frozen_inputs(reference_run))
        coverage_metrics(result, target_exhaustion_probability=0.01)
        return time.perf_counter() - started, result

    cold: list[float] = []
    warm: list[float] = []
    expected = None
    for _ in range(args.repeats):
        worker_inputs_forget()
        cold.append(whole_run()[0])
        seconds, expected = whole_run()
        warm.append(seconds)
        print(f"in-process engine: cold {cold[-1]:.2f}s, warm {seconds:.2f}s", file=sys.stderr)
    assert expected is not None, "--repeats must be at least 1"
    figures |= {
        "first_chunk_seconds": {"runs": first_chunk, "best": min(first_chunk)},
        "later_chunk_seconds": later_chunks,
        "cold_run_seconds": {"runs": [round(s, 3) for s in cold], "best": round(min(cold), 3)},
        "warm_run_seconds": {"runs": [round(s, 3) for s in warm], "best": round(min(warm), 3)},
        "merged_chunks_equal_whole_run": _same_as(chunk_run, expected),
        "load_after": load_average(),
    }
    return figures, expected


def _chunks(run: CoverageRun) -> dict[str, Any]:
    """What the run's rows record: each worker's first chunk and the others (claimed to counted done), the wait
    from the first chunk sent to the first claimed, and the merge."""
    chunks = [c for c in run.chunks.order_by("started_at") if c.duration_seconds is not None]
    first: dict[str, float] = {}
    later: list[float] = []
    for chunk in chunks:
        seconds = round(float(chunk.duration_seconds or 0.0), 3)
        if chunk.worker in first:
            later.append(seconds)
        else:
            first[chunk.worker] = seconds
    sent = min((c.enqueued_at for c in chunks if c.enqueued_at is not None), default=None)
    claimed = min((c.started_at for c in chunks if c.started_at is not None), default=None)
    timings = (run.metrics or {}).get("timings", {})
    return {
        "first_chunk_seconds_per_worker": list(first.values()),
        "later_chunk_seconds": later,
        "first_claim_after_send_seconds": round((claimed - sent).total_seconds(), 3) if sent and claimed else None,
        "merge_seconds": round(timings["merge_seconds"], 3) if "merge_seconds" in timings else None,
    }


def _same_as(run: CoverageRun, expected: SimulationResult) -> bool:
    from insurance.services.coverage_files import RESULT_FIELDS, arrays_read

    stored = arrays_read(run.results_file, run.results_sha256, what="results")
    return all(np.array_equal(stored[name], getattr(expected, name)) for name in RESULT_FIELDS)


def time_through_celery(args: argparse.Namespace, expected: SimulationResult) -> tuple[dict[str, Any], bool]:
    """Per worker count: workers started fresh, their first run (cold) and further runs on the same inputs (warm),
    each phase with the machine load before and after; and whether every merged run equals the in-process one."""
    figures: dict[str, Any] = {}
    identical = True
    for count in (1, 2):
        key = f"{count}_worker{'s' if count > 1 else ''}"
        load_before_start = load_average()
        started = time.perf_counter()
        workers = start_workers(count)
        start_seconds = time.perf_counter() - started
        try:
            cold_load = [load_average()]
            cold_run = new_run(args.paths, args.steps, f"{count} cold worker(s)", chunk_size=args.chunk_size)
            cold_seconds = through_celery(cold_run)
            cold_load.append(load_average())
            identical &= _same_as(cold_run, expected)
            print(f"celery, {count} cold worker(s): {cold_seconds:.2f}s", file=sys.stderr)
            warm_load, warm_runs, warm_seconds = [load_average()], [], []
            for _ in range(args.repeats):
                run = new_run(args.paths, args.steps, f"{count} worker(s)", chunk_size=args.chunk_size)
                warm_seconds.append(through_celery(run))
                warm_runs.append(run)
                identical &= _same_as(run, expected)
                print(f"celery, {count} warm worker(s): {warm_seconds[-1]:.2f}s", file=sys.stderr)
            warm_load.append(load_average())
        finally:
            stop_workers(workers)
        warm_rows = [_chunks(run) for run in warm_runs]
        warm_chunks = [
            seconds
            for rows in warm_rows
            for seconds in rows["first_chunk_seconds_per_worker"] + rows["later_chunk_seconds"]
        ]
        figures[key] = {
            "workers_start": {"seconds": round(start_seconds, 2), "load_before": load_before_start},
            "cold": {
                "run_seconds": round(cold_seconds, 3),
                **_chunks(cold_run),
                "load_before_after": cold_load,
            },
            "warm": {
                "run_seconds": {"runs": [round(s, 3) for s in warm_seconds], "best": round(min(warm_seconds), 3)},
                "chunk_seconds_median": _median(warm_chunks),
                "chunk_seconds": warm_chunks,
                "first_claim_after_send_seconds": [rows["first_claim_after_send_seconds"] for rows in warm_rows],
                "merge_seconds": [rows["merge_seconds"] for rows in warm_rows],
                "load_before_after": warm_load,
            },
        }
    return figures, identical


def _ratios(in_process: dict[str, Any], celery: dict[str, Any]) -> dict[str, Any]:
    """Each Celery figure over the in-process figure doing the same work, measured in this run."""
    warm_chunk = _median(in_process["later_chunk_seconds"])
    ratios: dict[str, Any] = {}
    for key, figures in celery.items():
        cold, warm = figures["cold"], figures["warm"]
        ratios[key] = {
            "cold_run_over_in_process_cold_run": _ratio(cold["run_seconds"], in_process["cold_run_seconds"]["best"]),
            "warm_run_over_in_process_warm_run": _ratio(
                warm["run_seconds"]["best"], in_process["warm_run_seconds"]["best"]
            ),
            "cold_first_chunk_over_in_process_first_chunk": _ratio(
                _median(cold["first_chunk_seconds_per_worker"]), in_process["first_chunk_seconds"]["best"]
            ),
            "warm_chunk_over_in_process_later_chunk": _ratio(warm["chunk_seconds_median"], warm_chunk),
            "cold_run_over_warm_run": _ratio(cold["run_seconds"], warm["run_seconds"]["best"]),
        }
    return ratios


def _source() -> dict[str, Any]:
    """Which code was measured: the commit (BENCH_SOURCE_COMMIT for an exported tree) and uncommitted engine files."""
    git = ["git", "-C", str(ROOT)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if commit.returncode != 0:
        return {"commit": os.environ.get("BENCH_SOURCE_COMMIT", "unknown"), "tree": "exported, no changes"}
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "insurance"], capture_output=True, text=True, check=False
    ).stdout.split("\n")
    return {"commit": commit.stdout.strip(), "uncommitted_insurance_files": [line[3:] for line in dirty if line]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--markets", type=int, default=10)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=2, help="timed warm runs per configuration (best is reported)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=2500, help="paths per chunk (one task each)")
    args = parser.parse_args()

    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    os.environ["CELERY_RESULT_BACKEND"] = REDIS_URL
    load_at_start = load_average()
    fresh_django_database(DB_NAME)

    from config.celery_app import app
    from insurance.engine import ENGINE_VERSION

    app.control.purge()
    started = time.perf_counter()
    load(args.positions, args.markets, args.seed)
    print(f"loaded {args.positions:,} positions in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    in_process, expected = time_in_process(args)
    celery, identical = time_through_celery(args, expected)

    one_worker = celery["1_worker"]["warm"]["run_seconds"]["best"]
    engine = in_process["warm_run_seconds"]["best"]
    result = {
        "benchmark": "coverage",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_averages_start": load_at_start,
            "load_averages_end": load_average(),
        },
        "source": {**_source(), "engine_version": ENGINE_VERSION},
        "positions": args.positions,
        "markets": args.markets,
        "paths": args.paths,
        "steps": args.steps,
        "chunk_size": args.chunk_size,
        "chunks": -(-args.paths // args.chunk_size),
        "in_process": in_process,
        "celery": celery,
        "ratios": _ratios(in_process, celery),
        "scaling_ratio_1_to_2_warm_workers": round(one_worker / celery["2_workers"]["warm"]["run_seconds"]["best"], 2),
        "overhead_one_warm_worker_vs_in_process": round(one_worker / engine - 1, 3),
        "overhead_goal": 0.15,
        "merged_equals_in_process": bool(identical),
        "notes": (
            "Run seconds through Celery run from enqueueing the chunks to the merged run stored (chunk files, "
            "merge, metrics); in-process run seconds are one simulate + the same metrics. Cold: workers started "
            "just before, so each worker's first chunk of the run loads the compiled kernels in its new process, "
            "reads, hashes and decodes the frozen inputs and sorts the book (once per run and worker); the "
            "in-process cold figures do the same reading, decoding and sorting with the kernels already loaded. "
            "Warm: further runs on the same inputs, where a worker keeps the decoded book and checks the new "
            "run's inputs file by its hash once, then by the storage's fingerprint. Chunk seconds are the chunk "
            "rows' claimed-to-done times (coverage_chunk_simulate in process). run_create_seconds (reading and "
            "freezing the positions) is the same for both and excluded. Other processes share the two cores: "
            "see the load averages before and after each phase."
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
