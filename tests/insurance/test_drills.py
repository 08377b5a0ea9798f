"""Fault drills on real Celery workers and a private Redis: a coverage run recovers within a minute of the fault
(without beat) and its result equals the same run computed in this process, bit for bit.

Each drill starts its own redis-server (no persistence) so killing or restarting it touches no other test, and
its own workers on it. Faults are placed with files: a drill worker (DRILL_WORKER below) writes a marker when
it reaches a chunk or the merge and waits there until the test has done its damage and writes `release`.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import redis
from celery import Celery
from django.db import connection

import insurance.tasks  # noqa: F401  (registers the tasks the drill app sends)
from config.celery_app import app as project_app
from insurance.models import ChunkStatus, CoverageRun, RunStatus
from insurance.services.coverage_execution import coverage_run_execute_inline
from insurance.services.coverage_files import RESULT_FIELDS, arrays_read
from insurance.services.coverage_runs import coverage_run_create
from tests.conftest import require_service
from tests.insurance.conftest import NOW, build_book, kill_worker, start_worker, wait_for_run, worker_environment

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RECOVERY_BOUND = float(os.environ.get("DRILL_RECOVERY_BOUND", "60"))  # seconds from the fault to the finished run
RUN = {"paths": 600, "steps": 24, "chunk_size": 100, "seed": 20240601}  # 6 chunks of 100 paths

# Fault points, set per worker by environment: DRILL_HOLD_CHUNKS=all holds every chunk until the worker is
# killed; DRILL_HOLD_CHUNKS=<n> holds the n-th chunk this worker starts (1 = the first) until `release`;
# DRILL_HOLD_MERGE=1 holds the first merge after it read the chunks, before it writes the run.
DRILL_APPLICATION = "riskgov-drill-worker"
DRILL_WORKER = """
import os, sys, threading, time
from pathlib import Path

import django

django.setup()
from insurance.services import coverage_execution

markers = Path(os.environ["DRILL_MARKERS"])
hold_chunks = os.environ.get("DRILL_HOLD_CHUNKS", "")
hold_merge = os.environ.get("DRILL_HOLD_MERGE") == "1"
simulate, metrics = coverage_execution.run_simulate, coverage_execution.coverage_metrics
started = []


def mark(name):
    (markers / f"{name}.tmp").write_text(str(os.getpid()))
    (markers / f"{name}.tmp").rename(markers / name)


def wait_for_release():
    while not (markers / "release").exists():
        time.sleep(0.05)


def drill_simulate(run, inputs, path_range=None, progress=None):
    if path_range is not None:
        started.append(path_range)
        if hold_chunks == "all":
            mark(f"held-chunk-{path_range[0]}")
            threading.Event().wait(600)
        if hold_chunks.isdigit() and len(started) == int(hold_chunks):
            mark(f"held-chunk-{path_range[0]}")
            wait_for_release()
    return simulate(run, inputs, path_range, progress)


def drill_metrics(*args, **kwargs):
    if hold_merge and not (markers / "held-merge").exists():
        mark("held-merge")
        wait_for_release()
    return metrics(*args, **kwargs)


coverage_execution.run_simulate = drill_simulate
coverage_execution.coverage_metrics = drill_metrics
sys.argv[0] = "celery"
from celery.__main__ import main

main()
"""


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, without persistence: a restart loses every queue."""

    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        pytest.fail(f"redis-server on port {self.port} did not answer; see {self.log}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    require_service(shutil.which("redis-server") is not None, "redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = PrivateRedis(port=port, log=tmp_path / "redis.log")
    server.start()
    yield server
    server.kill()


@contextmanager
def publishing_to(url: str) -> Iterator[Celery]:
    """Tasks sent in this block (by name, through the current app) go to the broker at `url`."""
    drill_app = Celery("riskgov-drill", set_as_current=False)
    drill_app.config_from_object("django.conf:settings", namespace="CELERY")
    drill_app.conf.update(
        broker_url=url,
        result_backend=url,
        # results are not awaited here: give up at once on a Redis the drill has taken away
        result_backend_transport_options={"retry_policy": {"max_retries": 0}},
    )
    drill_app.set_current()
    try:
        yield drill_app
    finally:
        project_app.set_current()
        for pending in drill_app.backend._pending_results:  # results are not awaited: let them go now, while
            pending.clear()  # this Redis answers their unsubscribe, not when a later drill has stopped it
        gc.collect()
        drill_app.close()


@contextmanager
def drill_workers(
    broker: PrivateRedis, markers: Path, **roles: dict[str, str]
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """One worker per role on the private broker (the chunk and merge queue), each with its fault settings."""
    workers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for role, fault in roles.items():
            workers[role] = start_worker(
                hostname=f"drill-{role}@%h",
                queue=project_app.conf.task_default_queue,
                log_name=f"test-worker-drill-{role}.log",
                bootstrap=DRILL_WORKER,
                env={
                    # named, so the database drill ends the drill workers' sessions and no one else's
                    "DATABASE_URL": f"{worker_environment()['DATABASE_URL']}?application_name={DRILL_APPLICATION}",
                    "CELERY_BROKER_URL": broker.url,
                    "CELERY_RESULT_BACKEND": broker.url,
                    "DRILL_MARKERS": str(markers),
                    **fault,
                },
            )
        with publishing_to(broker.url) as drill_app:
            names = [f"drill-{role}@{socket.gethostname()}" for role in roles]
            deadline = time.monotonic() + 60
            while len(drill_app.control.ping(timeout=0.5, destination=names)) < len(names):
                assert all(w.poll() is None for w in workers.values()), "a drill worker exited"
                assert time.monotonic() < deadline, "the drill workers did not answer within 60 s"
        yield workers
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                kill_worker(worker)


def wait_for_file(path: Path, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} did not appear within {timeout} s"
        time.sleep(0.02)


def start_run(broker: PrivateRedis, label: str) -> CoverageRun:
    with publishing_to(broker.url):
        return coverage_run_create(label=label, requested_by="drill", at=NOW, **RUN)


def wait_for_recovery(run: CoverageRun, drill: str, fault_at: float) -> CoverageRun:
    """The run once finished, within RECOVERY_BOUND of the fault; with $DRILL_TIMINGS, the recovery time is
    appended there (bench/drills reads it)."""
    run = wait_for_run(run, timeout=RECOVERY_BOUND - (time.monotonic() - fault_at))
    if timings := os.environ.get("DRILL_TIMINGS"):
        with Path(timings).open("a") as out:
            out.write(json.dumps({"drill": drill, "recovery_seconds": time.monotonic() - fault_at}) + "\n")
    return run


def assert_equals_in_process(run: CoverageRun) -> None:
    """The stored results and metrics equal those of the same run simulated and merged in this process."""
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert all(chunk.status == ChunkStatus.DONE for chunk in run.chunks.all())
    reference = coverage_run_execute_inline(
        run=coverage_run_create(label="in-process", requested_by="drill", at=NOW, enqueue=False, **RUN)
    )
    assert reference.status == RunStatus.SUCCEEDED, reference.error
    assert reference.inputs_sha256 == run.inputs_sha256
    stored = arrays_read(run.results_file, run.results_sha256, what="drill results")
    expected = arrays_read(reference.results_file, reference.results_sha256, what="in-process results")
    for name in RESULT_FIELDS:
        assert np.array_equal(stored[name], expected[name]), name
    assert {k: v for k, v in run.metrics.items() if k != "timings"} == {
        k: v for k, v in reference.metrics.items() if k != "timings"
    }


def test_worker_killed_mid_run_recovers_within_a_minute(private_redis: PrivateRedis, tmp_path: Path) -> None:
    build_book()
    with drill_workers(private_redis, tmp_path, victim={"DRILL_HOLD_CHUNKS": "all"}, survivor={}) as workers:
        run = start_run(private_redis, "drill: worker SIGKILL")
        held = _first_marker(tmp_path, "held-chunk-")
        victim_chunk = run.chunks.get(path_start=int(held.name.rsplit("-", 1)[1]))
        wait_for_run(run, timeout=60, until=lambda r: r.chunks_done >= 1)
        kill_worker(workers["victim"])
        fault_at = time.monotonic()
        victim_chunk.refresh_from_db()
        assert victim_chunk.status == ChunkStatus.RUNNING and victim_chunk.worker.startswith("drill-victim@")

        run = wait_for_recovery(run, "worker SIGKILL mid-run", fault_at)
    victim_chunk.refresh_from_db()
    assert victim_chunk.attempts == 2 and not victim_chunk.worker.startswith("drill-victim@")
    assert_equals_in_process(run)


def test_redis_restarted_mid_run_recovers_within_a_minute(private_redis: PrivateRedis, tmp_path: Path) -> None:
    build_book()
    with drill_workers(private_redis, tmp_path, steady={"DRILL_HOLD_CHUNKS": "3"}):
        run = start_run(private_redis, "drill: Redis restart")
        _first_marker(tmp_path, "held-chunk-")  # two chunks done, the third running, three waiting on Redis
        private_redis.kill()
        fault_at = time.monotonic()
        private_redis.start()  # empty: the waiting chunks and the chord are gone
        (tmp_path / "release").write_text("")

        run = wait_for_recovery(run, "Redis restarted mid-run", fault_at)
    assert_equals_in_process(run)


def test_database_connections_killed_during_the_merge_recover_within_a_minute(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    build_book()
    with drill_workers(private_redis, tmp_path, merger={"DRILL_HOLD_MERGE": "1"}):
        run = start_run(private_redis, "drill: database connections killed in the merge")
        wait_for_file(tmp_path / "held-merge")
        run.refresh_from_db()
        assert run.status == RunStatus.RUNNING and run.merge_started_at and run.chunks_done == run.chunk_count
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s",
                [DRILL_APPLICATION],
            )
            (terminated,) = cursor.fetchone()
        fault_at = time.monotonic()
        assert terminated >= 1  # the worker's connections, the merging one among them
        (tmp_path / "release").write_text("")

        run = wait_for_recovery(run, "database connections killed in the merge", fault_at)
    assert_equals_in_process(run)


def _first_marker(markers: Path, prefix: str, timeout: float = 60.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(markers.glob(f"{prefix}*"))
        found = [path for path in found if not path.name.endswith(".tmp")]
        if found:
            return found[0]
        time.sleep(0.02)
    pytest.fail(f"no {prefix}* marker within {timeout} s")
