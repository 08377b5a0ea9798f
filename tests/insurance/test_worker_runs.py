"""Coverage runs on real Celery workers over Redis: the merged result equals one in-process simulation
bit for bit, also when a worker is SIGKILLed in the middle of a chunk."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.test import override_settings

from config.celery_app import app
from insurance.models import ChunkStatus, CoverageChunk, CoverageRun, RunStatus
from insurance.services.coverage_execution import (
    celery_running_task_ids,
    coverage_runs_sweep,
    run_frozen_inputs,
    run_simulate,
)
from insurance.services.coverage_files import RESULT_FIELDS, arrays_read
from insurance.services.coverage_metrics import FUND_QUANTILES
from insurance.services.coverage_runs import coverage_run_create
from tests.insurance.conftest import (
    NOW,
    build_book,
    kill_worker,
    start_worker,
    wait_for_run,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
KILL_QUEUE = "coverage-kill-test"

# A Celery worker whose chunks never finish: once a chunk has claimed its row (status running, attempt
# counted) and is about to simulate, it writes a marker file to $HELD_CHUNK_MARKERS and blocks until the
# test kills the worker. So the kill always lands in the middle of a chunk.
HOLDING_WORKER = """
import json, os, sys, threading
from pathlib import Path

import django

django.setup()
from insurance.services import coverage_execution

markers = Path(os.environ["HELD_CHUNK_MARKERS"])


def held_simulate(run, inputs, path_range=None, progress=None):
    marker = markers / f"run-{run.pk}-paths-{path_range[0]}"
    marker.with_suffix(".tmp").write_text(json.dumps({"run": run.pk, "path_start": path_range[0]}))
    marker.with_suffix(".tmp").rename(marker.with_suffix(".json"))
    threading.Event().wait(600)
    raise RuntimeError("the held chunk was never killed")


coverage_execution.run_simulate = held_simulate
sys.argv[0] = "celery"
from celery.__main__ import main

main()
"""


def assert_equals_in_process(run: CoverageRun) -> None:
    """Every per-path array of the stored result equals a single in-process `simulate` with the same seed."""
    expected = run_simulate(run, run_frozen_inputs(run))
    stored = arrays_read(run.results_file, run.results_sha256, what="results")
    for name in RESULT_FIELDS:
        assert np.array_equal(stored[name], getattr(expected, name)), name
    assert stored["path_range"].tolist() == [0, run.paths]
    quantiles = np.array(run.metrics["fund_quantiles"]["values"])
    steps = np.round(np.array(run.metrics["fund_quantiles"]["hours"]) / expected.config.step_hours).astype(int)
    assert np.array_equal(quantiles, expected.fund_path_quantiles(FUND_QUANTILES)[:, steps])


def test_multi_chunk_run_on_worker_equals_in_process(celery_worker_process: object) -> None:
    build_book()
    run = coverage_run_create(label="worker", requested_by="test", paths=700, steps=48, chunk_size=200, seed=42, at=NOW)
    assert run.chunk_count == 4
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    chunks = list(run.chunks.all())
    assert [c.status for c in chunks] == [ChunkStatus.DONE] * 4
    assert all(c.attempts == 1 and c.worker.startswith("testworker@") for c in chunks)
    assert run.metrics["summary"]["paths"] == 700
    assert_equals_in_process(run)


def test_worker_killed_mid_chunk_still_gives_identical_run(celery_worker_process: object, tmp_path: Path) -> None:
    build_book()
    doomed = start_worker(  # every chunk it takes is held mid-chunk (see HOLDING_WORKER)
        hostname="doomed@%h",
        queue=KILL_QUEUE,
        log_name="test-worker-doomed.log",
        bootstrap=HOLDING_WORKER,
        env={"HELD_CHUNK_MARKERS": str(tmp_path)},
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5, destination=[_hostname("doomed")]):
            assert doomed.poll() is None and time.monotonic() < deadline, "the extra worker did not start"
        with override_settings(INSURANCE_CHUNK_QUEUE=KILL_QUEUE):
            run = coverage_run_create(
                label="kill", requested_by="test", paths=600, steps=48, chunk_size=200, seed=7, at=NOW
            )
        victim = _wait_for_held_chunk(run, markers=tmp_path, worker=doomed)
        assert victim.status == ChunkStatus.RUNNING and victim.worker.startswith("doomed@")
        kill_worker(doomed)
        victim.refresh_from_db()
        assert victim.status == ChunkStatus.RUNNING, "the chunk finished before the kill"

        report = coverage_runs_sweep(
            running_task_ids=celery_running_task_ids, lost_after=timedelta(0), stalled_after=timedelta(0)
        )
        assert victim.chunk_index in report.requeued[run.pk]
        run = wait_for_run(run, timeout=120)
        assert run.status == RunStatus.SUCCEEDED, run.error
        victim.refresh_from_db()
        assert victim.attempts == 2 and victim.worker.startswith("testworker@")
        assert_equals_in_process(run)
    finally:
        if doomed.poll() is None:
            kill_worker(doomed)
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(KILL_QUEUE)


def _hostname(name: str) -> str:
    import socket

    return f"{name}@{socket.gethostname()}"


def _wait_for_held_chunk(
    run: CoverageRun, *, markers: Path, worker: subprocess.Popen[bytes], timeout: float = 60.0
) -> CoverageChunk:
    """The chunk of `run` the holding worker is in the middle of, once its marker file exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for marker in markers.glob(f"run-{run.pk}-paths-*.json"):
            held = json.loads(marker.read_text())
            return CoverageChunk.objects.get(run=run, path_start=held["path_start"])
        assert worker.poll() is None, "the holding worker exited"
        time.sleep(0.02)
    pytest.fail(f"no chunk of run #{run.pk} started on the holding worker")
