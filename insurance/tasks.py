"""Celery tasks of coverage runs: ids in, one service call, safe to run twice.

A chunk and the merge retry a DatabaseError (a lost connection, a serialisation failure) or an unreachable run
storage under the project's one retry policy; any other failure is recorded on the run by the service.
"""

from __future__ import annotations

from datetime import timedelta

from celery import Task, shared_task
from django.db import DatabaseError

from insurance.services.coverage_execution import (
    CHUNK_SOFT_TIME_LIMIT,
    CHUNK_TIME_LIMIT,
    celery_running_task_ids,
    coverage_chunk_simulate,
    coverage_run_finish,
    coverage_runs_sweep,
)
from insurance.services.coverage_files import CoverageStorageUnavailable
from insurance.services.coverage_scheduled import coverage_run_create_daily
from riskgov.core.tasking import retry_policy


@shared_task(
    name="insurance.simulate_chunk",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=CHUNK_SOFT_TIME_LIMIT,
    time_limit=CHUNK_TIME_LIMIT,
    **retry_policy(
        DatabaseError, CoverageStorageUnavailable, max_retries=5, backoff_seconds=5, backoff_max_seconds=120
    ),
)
def simulate_chunk(self: Task, *, run_id: int, chunk_index: int) -> bool:
    """Simulate chunk `chunk_index` of run `run_id` (the chunk row upserts its own result)."""
    return coverage_chunk_simulate(
        run_id=run_id, chunk_index=chunk_index, task_id=self.request.id or "", worker=self.request.hostname or ""
    )


@shared_task(
    name="insurance.finish_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=840,
    time_limit=900,
    **retry_policy(DatabaseError, CoverageStorageUnavailable, max_retries=5, backoff_seconds=2, backoff_max_seconds=30),
)
def finish_run(self: Task, *, run_id: int) -> bool:
    """Merge a run's chunks and write its metrics; a no-op unless every chunk is done and no merge holds it.

    The merge claims the run under this task's id, which its retries keep.
    """
    return coverage_run_finish(run_id=run_id, claim=self.request.id or "")


@shared_task(name="insurance.sweep_stale_runs", soft_time_limit=100, time_limit=120)
def sweep_stale_runs() -> dict[str, object]:
    """Re-enqueue lost or stalled chunks; fail runs whose chunks keep getting lost."""
    report = coverage_runs_sweep(
        running_task_ids=celery_running_task_ids, lost_after=timedelta(seconds=60), stalled_after=timedelta(minutes=10)
    )
    return {"requeued": report.requeued, "merges": report.merges, "failed": report.failed}


@shared_task(name="insurance.daily_coverage_run", soft_time_limit=600, time_limit=660)
def daily_coverage_run() -> int:
    """Start the scheduled coverage run under the current parameters; returns its id."""
    return coverage_run_create_daily().pk
