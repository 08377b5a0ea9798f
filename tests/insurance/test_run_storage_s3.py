"""Coverage runs with their files on an S3-compatible object store (moto's server, a real HTTP endpoint).

The storage functions are checked on the store itself; then a multi-chunk run goes end to end on a real worker
whose run storage is the bucket and whose own disk holds no run file, and an object altered before the merge
is caught by its hash: that chunk is computed again, never merged.
"""

from __future__ import annotations

import re
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from insurance.models import ChunkStatus, CoverageRun, RunStatus
from insurance.services.coverage_cleanup import (
    CoverageRunDeleteError,
    coverage_files_prune,
    coverage_runs_delete,
)
from insurance.services.coverage_execution import coverage_run_execute_inline
from insurance.services.coverage_files import (
    RESULT_FIELDS,
    CoverageFileError,
    arrays_read,
    arrays_write,
    bytes_write,
    file_sha256_check,
    run_files_delete,
)
from insurance.services.coverage_runs import coverage_run_create
from tests.insurance.conftest import NOW, S3Bucket, build_book, kill_worker, start_worker, wait_for_run
from tests.insurance.test_drills import PrivateRedis, private_redis, publishing_to  # noqa: F401 (fixture)

RUN = {"paths": 400, "steps": 12, "chunk_size": 100, "seed": 20241005}  # 4 chunks

# A worker that holds its first merge before it reads the chunk files, until the test writes `release`.
HOLDING_WORKER = """
import os, sys, time
from pathlib import Path

import django

django.setup()
from insurance.services import coverage_execution

markers = Path(os.environ["HOLD_MARKERS"])
merge = coverage_execution._run_merge


def held_merge(*, run_id):
    if not (markers / "held-merge").exists():
        (markers / "held-merge").write_text(str(os.getpid()))
        while not (markers / "release").exists():
            time.sleep(0.05)
    return merge(run_id=run_id)


coverage_execution._run_merge = held_merge
sys.argv[0] = "celery"
from celery.__main__ import main

main()
"""


def test_files_round_trip_through_the_object_store_with_their_hash(s3_bucket: S3Bucket) -> None:
    arrays = {"a": np.arange(5, dtype=np.float64), "b": np.array([1, 2], dtype=np.int64)}
    digest = arrays_write("coverage/run-1-abcd/chunk-00000.npz", arrays, compress=False)
    assert s3_bucket.object_keys() == ["coverage/run-1-abcd/chunk-00000.npz"]
    read = arrays_read("coverage/run-1-abcd/chunk-00000.npz", digest, what="chunk 0")
    assert all(np.array_equal(read[name], arrays[name]) for name in arrays)
    file_sha256_check("coverage/run-1-abcd/chunk-00000.npz", digest, what="chunk 0")

    again = arrays_write("coverage/run-1-abcd/chunk-00000.npz", {"a": np.zeros(3)}, compress=False)  # replaced
    assert s3_bucket.object_keys() == ["coverage/run-1-abcd/chunk-00000.npz"] and again != digest
    with pytest.raises(
        CoverageFileError, match=re.escape("chunk 0 file coverage/run-1-abcd/chunk-00000.npz was altered")
    ):
        arrays_read("coverage/run-1-abcd/chunk-00000.npz", digest, what="chunk 0")
    with pytest.raises(CoverageFileError, match=re.escape("results file coverage/run-1-abcd/results.npz is missing")):
        file_sha256_check("coverage/run-1-abcd/results.npz", digest, what="results")

    bytes_write("coverage/run-1-abcd/inputs.npz", b"inputs")
    assert run_files_delete("coverage/run-1-abcd") == 2
    assert s3_bucket.object_keys() == []


@pytest.mark.django_db(transaction=True)
def test_deleting_a_run_deletes_its_objects_and_prune_removes_orphans(s3_bucket: S3Bucket) -> None:
    build_book()
    run = coverage_run_execute_inline(
        run=coverage_run_create(label="s3 inline", requested_by="test", at=NOW, enqueue=False, **RUN)
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    directory = run.inputs_file.rsplit("/", 1)[0]
    assert s3_bucket.object_keys() == sorted(
        [f"{directory}/inputs.npz", f"{directory}/results.npz"]
        + [f"{directory}/chunk-{index:05d}.npz" for index in range(4)]
    )
    bytes_write("coverage/run-999999-0000/inputs.npz", b"left behind")

    active = coverage_run_create(label="s3 active", requested_by="test", at=NOW, enqueue=False, **RUN)
    with pytest.raises(CoverageRunDeleteError, match=f"Run #{active.pk} is still queued or running"):
        coverage_runs_delete([run, active])
    assert CoverageRun.objects.filter(pk=run.pk).exists()

    assert coverage_runs_delete([run]) == 1
    assert not any(key.startswith(directory) for key in s3_bucket.object_keys())
    assert coverage_files_prune(grace=timedelta(hours=1)).deleted == []  # too young to be an orphan
    report = coverage_files_prune(grace=timedelta(0))
    assert report.deleted == ["coverage/run-999999-0000"] and report.kept == 1  # the active run's directory
    assert all(key.startswith(active.inputs_file.rsplit("/", 1)[0]) for key in s3_bucket.object_keys())


@pytest.mark.django_db(transaction=True)
def test_prune_command_reports_what_it_deletes(s3_bucket: S3Bucket, capsys: pytest.CaptureFixture[str]) -> None:
    bytes_write("coverage/run-424242-beef/inputs.npz", b"orphan")
    call_command("coverage_files_prune", "--grace-minutes", "0", "--dry-run")
    assert "would delete coverage/run-424242-beef" in capsys.readouterr().out
    assert s3_bucket.object_keys() == ["coverage/run-424242-beef/inputs.npz"]
    call_command("coverage_files_prune", "--grace-minutes", "0")
    assert "1 run directories deleted, 0 kept." in capsys.readouterr().out
    assert s3_bucket.object_keys() == []


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_run_on_a_worker_with_the_object_store_recomputes_an_altered_chunk_and_equals_in_process(
    s3_bucket: S3Bucket,
    private_redis: PrivateRedis,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    build_book()
    worker_var = tmp_path / "worker-var"  # the worker's own disk: no run file may land there
    worker = start_worker(
        hostname="s3worker@%h",
        queue="celery",
        log_name="test-worker-s3.log",
        bootstrap=HOLDING_WORKER,
        env={
            **s3_bucket.environment(),
            "RISKGOV_VAR_DIR": str(worker_var),
            "CELERY_BROKER_URL": private_redis.url,
            "CELERY_RESULT_BACKEND": private_redis.url,
            "HOLD_MARKERS": str(tmp_path),
        },
    )
    try:
        with publishing_to(private_redis.url):
            run = coverage_run_create(label="s3 on a worker", requested_by="test", at=NOW, **RUN)
        _wait_for(tmp_path / "held-merge", worker, run)
        run.refresh_from_db()
        assert run.chunks_done == run.chunk_count == 4
        damaged = run.chunks.get(chunk_index=2)
        client = s3_bucket.server.client()
        written = client.get_object(Bucket=s3_bucket.name, Key=damaged.result_file)["Body"].read()
        client.put_object(Bucket=s3_bucket.name, Key=damaged.result_file, Body=written[:-8] + b"altered!")
        (tmp_path / "release").write_text("")

        run = wait_for_run(run, timeout=90)
    finally:
        kill_worker(worker)
    assert run.status == RunStatus.SUCCEEDED, run.error
    damaged.refresh_from_db()
    assert damaged.status == ChunkStatus.DONE and damaged.attempts == 2
    assert all(chunk.attempts == 1 for chunk in run.chunks.exclude(pk=damaged.pk))
    assert client.get_object(Bucket=s3_bucket.name, Key=damaged.result_file)["Body"].read() == written
    assert not (worker_var / "media" / "coverage").exists()
    directory = run.inputs_file.rsplit("/", 1)[0]
    assert f"{directory}/results.npz" in s3_bucket.object_keys()

    reference = coverage_run_execute_inline(
        run=coverage_run_create(label="in-process", requested_by="test", at=NOW, enqueue=False, **RUN)
    )
    assert reference.inputs_sha256 == run.inputs_sha256
    stored = arrays_read(run.results_file, run.results_sha256, what="worker results")
    expected = arrays_read(reference.results_file, reference.results_sha256, what="in-process results")
    for name in RESULT_FIELDS:
        assert np.array_equal(stored[name], expected[name]), name


def _wait_for(marker: Path, worker: subprocess.Popen[bytes], run: CoverageRun, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert worker.poll() is None, "the worker exited; see var/test-worker-s3.log"
        run.refresh_from_db()
        assert run.is_active, f"run #{run.pk} is {run.status} before its merge: {run.error}"
        assert time.monotonic() < deadline, f"{marker.name} did not appear within {timeout} s"
        time.sleep(0.05)
