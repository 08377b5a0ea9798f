"""Run storage benchmark: the same coverage run through a Celery worker with its files on the local disk and
on an S3-compatible object store (moto's server, started here on 127.0.0.1), alternated so that both see the
same machine load. Reports the time per run, the object store's overhead as a ratio measured in the same run,
the bytes a run stores, and the worker's peak memory for the book size (what a worker on another host needs).

Creates its own PostgreSQL database (riskgov_bench_run_storage on BENCH_PG_URL, dropped at the end) and uses
Redis database 13 (BENCH_STORAGE_REDIS_URL). Writes bench/results/run_storage.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load_average
from bench.coverage.__main__ import load, new_run, start_workers, stop_workers, through_celery
from bench.database import SERVER_URL, fresh_django_database
from bench.s3server import S3ServerError, s3_server_start

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "bench" / "results" / "run_storage.json"
REDIS_URL = os.environ.get("BENCH_STORAGE_REDIS_URL", "redis://127.0.0.1:6379/13")
DB_NAME = "riskgov_bench_run_storage"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret"}


def storage_environment(kind: str, *, endpoint: str, bucket: str, directory: str) -> dict[str, str]:
    if kind == "filesystem":
        return {"RISKGOV_RUN_STORAGE": "filesystem", "RISKGOV_RUN_STORAGE_DIR": directory}
    return {
        "RISKGOV_RUN_STORAGE": "s3",
        "RISKGOV_S3_BUCKET": bucket,
        "RISKGOV_S3_ENDPOINT_URL": endpoint,
        "RISKGOV_S3_REGION": "us-east-1",
        "RISKGOV_S3_ADDRESSING_STYLE": "path",
        **CREDENTIALS,
    }


def pool_peak_rss_mib(worker: subprocess.Popen[bytes]) -> float | None:
    """Peak resident memory (VmHWM) of the worker's pool process, which runs the chunks."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    try:
        pids = children.read_text().split()
    except OSError:
        return None
    peaks = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return round(max(peaks), 1) if peaks else None


def stored_bytes(run: Any) -> int:
    from insurance.services.coverage_files import run_storage

    storage = run_storage()
    directory = run.inputs_file.rsplit("/", 1)[0]
    _, names = storage.listdir(directory)
    return sum(storage.size(f"{directory}/{name}") for name in names)


def measure(kind: str, args: argparse.Namespace, environment: dict[str, str]) -> dict[str, Any]:
    """One worker with `kind` storage: a warm-up run (kernels, decoded book), then one timed run."""
    import environ
    from django.test.utils import override_settings

    from config.settings.storage import RUN_STORAGE_ALIAS, run_storage_backend

    os.environ.update(environment)
    from django.conf import settings

    storages = {**settings.STORAGES, RUN_STORAGE_ALIAS: run_storage_backend(environ.Env())}
    with override_settings(STORAGES=storages):
        workers = start_workers(1)
        try:
            through_celery(new_run(args.chunk_size, args.steps, f"warm-up {kind}", chunk_size=args.chunk_size))
            load_before = os.getloadavg()[0]
            run = new_run(args.paths, args.steps, f"timed {kind}", chunk_size=args.chunk_size)
            seconds = through_celery(run)
            load_after = os.getloadavg()[0]
            peak = pool_peak_rss_mib(workers[0])
            size = stored_bytes(run)
        finally:
            stop_workers(workers)
    for name in environment:
        os.environ.pop(name, None)
    print(f"{kind}: {seconds:.2f}s, {size / 2**20:.1f} MiB stored", file=sys.stderr)
    return {
        "seconds": round(seconds, 3),
        "stored_mib": round(size / 2**20, 2),
        "worker_pool_peak_rss_mib": peak,
        "load_average_1min_before_after": [round(load_before, 2), round(load_after, 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--markets", type=int, default=10)
    parser.add_argument("--paths", type=int, default=4_000)
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--chunk-size", type=int, default=500, help="paths per chunk: more chunks, more files")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per storage, alternated")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    os.environ["CELERY_RESULT_BACKEND"] = REDIS_URL
    fresh_django_database(DB_NAME)
    from config.celery_app import app

    app.control.purge()
    load_average_start = load_average()
    load(args.positions, args.markets, args.seed)
    log = ROOT / "var" / "bench-run-storage-s3.log"
    log.parent.mkdir(exist_ok=True)
    try:
        server = s3_server_start(log=log, credentials=CREDENTIALS)
    except S3ServerError as error:
        raise SystemExit(str(error)) from None
    endpoint = server.endpoint
    bucket = f"riskgov-bench-{uuid.uuid4().hex[:8]}"
    directory = tempfile.mkdtemp(prefix="riskgov-bench-runs-")
    try:
        server.client().create_bucket(Bucket=bucket)
        samples: dict[str, list[dict[str, Any]]] = {"filesystem": [], "s3": []}
        for _ in range(args.repeats):
            for kind in ("filesystem", "s3"):
                environment = storage_environment(kind, endpoint=endpoint, bucket=bucket, directory=directory)
                samples[kind].append(measure(kind, args, environment))
    finally:
        server.stop()
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
        _drop_database()

    median = {kind: statistics.median(s["seconds"] for s in runs) for kind, runs in samples.items()}
    pairs = [s3["seconds"] / fs["seconds"] for fs, s3 in zip(samples["filesystem"], samples["s3"], strict=True)]
    result = {
        "benchmark": "run_storage",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1_5_15_start": [round(v, 2) for v in load_average_start],
            "load_average_1_5_15_end": load_average(),
        },
        "positions": args.positions,
        "markets": args.markets,
        "paths": args.paths,
        "steps": args.steps,
        "chunk_size": args.chunk_size,
        "chunks": -(-args.paths // args.chunk_size),
        "runs": samples,
        "median_seconds": {kind: round(value, 3) for kind, value in median.items()},
        "s3_over_filesystem": {
            "median_ratio": round(median["s3"] / median["filesystem"], 3),
            "per_pair": [round(ratio, 3) for ratio in pairs],
        },
        "notes": (
            "One worker (concurrency 1), warm: a warm-up run first loads the kernels and decodes the book. The "
            "time runs from enqueueing the chunks to the merged run stored. The object store is moto's server on "
            "127.0.0.1 (a Python process on the same cores), so the ratio bounds the protocol and hashing "
            "overhead, not a network's latency. worker_pool_peak_rss_mib is the peak memory of the process that "
            "ran the chunks, for this book size and chunk size."
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _drop_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
