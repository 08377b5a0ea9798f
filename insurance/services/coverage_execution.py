"""What the workers do for a coverage run: simulate one chunk, merge the chunks, sweep lost chunks.

Every step is safe to run twice. A chunk claims its row with a conditional UPDATE, writes its result
file atomically, and counts itself done once (UPDATE … WHERE status <> 'done'); the run's done counter
is incremented under the run's row lock, so exactly one chunk sees the last increment and enqueues the
merge — whether the chord callback fires or not. The merge claims the run the same way, under its task id,
and gives the claim back when the database fails under it, so its retry can take it at once.

Workers report the chunk and merge tasks they hold every HEARTBEAT_INTERVAL (`coverage_recovery`); a copy
of a chunk's task does not take over a chunk another task is running with a fresh heartbeat.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from insurance.engine import ENGINE_VERSION, LiquidationLadder, SimulationResult, build_ladder, simulate
from insurance.models import ACTIVE_STATUSES, ChunkStatus, CoverageChunk, CoverageRun, RunStatus
from insurance.services.coverage_files import (
    CoverageFileError,
    CoverageStorageUnavailable,
    FrozenInputs,
    arrays_read,
    arrays_write,
    file_fingerprint,
    file_sha256_check,
    result_from_arrays,
    result_to_arrays,
    run_storage_identity,
)
from insurance.services.coverage_metrics import coverage_metrics
from insurance.services.coverage_model import engine_model
from insurance.services.coverage_runs import FINISH_RUN, coverage_chunks_enqueue, coverage_run_fail, run_config
from riskgov.core import dispatch

logger = logging.getLogger(__name__)

CHUNK_SOFT_TIME_LIMIT = 900  # seconds; a chunk of 1,000 paths takes seconds even for 100,000 positions
CHUNK_TIME_LIMIT = 960
MAX_CHUNK_ATTEMPTS = 3
MERGE_TIMEOUT = timedelta(minutes=15)  # the periodic sweep's limit for a merge nobody reports as alive
HEARTBEAT_INTERVAL = timedelta(seconds=2)  # how often a worker reports the chunk and merge tasks it holds
WORKER_LOST_AFTER = timedelta(seconds=12)  # no report for this long: the worker holding the task is gone
NEVER_SENT_GRACE = timedelta(seconds=30)  # a new run's chunks are sent on commit; after this they were not


@dataclass
class _DecodedRun:
    """A worker's decoded inputs of one run, and the sorted book once a chunk has built it.

    `verified_file` is the inputs file whose sha256 was last checked and `fingerprint` what the run storage said
    of it just before (`file_fingerprint`): while both hold, the file is the one that was hashed.
    """

    sha256: str
    inputs: FrozenInputs
    verified_file: str
    fingerprint: str
    ladder: LiquidationLadder | None = None


@dataclass
class _WorkerCache:
    """What one worker process keeps between chunks: the last run it decoded."""

    last_run: _DecodedRun | None = None


_worker_cache = _WorkerCache()


def worker_inputs_forget() -> None:
    """Drop the decoded inputs and sorted book this process keeps: its next chunk starts as a fresh worker's."""
    _worker_cache.last_run = None


def run_frozen_inputs(run: CoverageRun) -> FrozenInputs:
    """The run's frozen engine inputs, after checking the file's sha256; raises CoverageFileError.

    A worker keeps the last decoded inputs. Its next chunk of the same inputs asks the run storage only for the
    file's fingerprint (no read); the file is read and hashed again only when the fingerprint or the file differs
    from the one verified, so an altered file still fails the run.
    """
    what = "frozen inputs"
    cached = _worker_cache.last_run
    if cached is not None and cached.sha256 == run.inputs_sha256:
        fingerprint = file_fingerprint(run.inputs_file, what=what)
        if (run.inputs_file, fingerprint) != (cached.verified_file, cached.fingerprint):
            file_sha256_check(run.inputs_file, run.inputs_sha256, what=what)
            cached.verified_file, cached.fingerprint = run.inputs_file, fingerprint
        return cached.inputs
    fingerprint = file_fingerprint(run.inputs_file, what=what)  # taken before the read: a later change shows
    inputs = FrozenInputs.from_arrays(arrays_read(run.inputs_file, run.inputs_sha256, what=what))
    _worker_cache.last_run = _DecodedRun(
        sha256=run.inputs_sha256, inputs=inputs, verified_file=run.inputs_file, fingerprint=fingerprint
    )
    return inputs


def run_simulate(
    run: CoverageRun,
    inputs: FrozenInputs,
    path_range: tuple[int, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """`simulate` on a run's frozen inputs: what a chunk computes, or (without path_range) the whole run."""
    model = engine_model(
        run.model, run.model_params, correlation=inputs.correlation, bootstrap_returns=inputs.bootstrap_returns
    )
    cached = _worker_cache.last_run
    decoded = cached if cached is not None and cached.inputs is inputs else None
    ladder = decoded.ladder if decoded is not None else None
    if ladder is None:
        ladder = build_ladder(inputs.portfolio, inputs.markets)
        if decoded is not None:
            decoded.ladder = ladder  # the next chunk of this run skips sorting the book
    return simulate(
        inputs.portfolio,
        inputs.markets,
        model,
        run_config(run),
        fund_balance=float(run.fund_balance),
        seed=int(run.seed),
        path_range=path_range,
        progress=progress,
        ladder=ladder,
    )


def in_this_run_storage() -> Q:
    """Runs whose files are in the run storage this process is configured with (or that did not record one)."""
    return Q(storage="") | Q(storage=run_storage_identity())


def run_fits_this_worker(run: CoverageRun) -> bool:
    """Whether this process can work on the run; logs why not when it cannot.

    It must read and write the run's files (the same run storage as the web process), and its engine must
    compute the run's paths: another engine version draws or liquidates the same inputs differently, so its
    chunks would not merge into the run's figures. Either way the run is left to the workers that fit it (the
    sweep fails a run of another engine version once it stalls).
    """
    here = run_storage_identity()
    if run.storage and run.storage != here:
        reason = (
            f"keeps its files in {run.storage} but this process's run storage is {here}: it leaves the run to the "
            "workers configured like the web process (check RISKGOV_RUN_STORAGE and RISKGOV_S3_* here)"
        )
    elif run.engine_version != ENGINE_VERSION:
        reason = (
            f"was created for engine {run.engine_version} but this worker runs engine {ENGINE_VERSION}: it leaves "
            f"the run to workers of engine {run.engine_version} (deploy the web process and the workers together)"
        )
    else:
        return True
    logger.error("coverage run %s %s", run.pk, reason)
    return False


def _chunk_claim(
    *, run_id: int, chunk_index: int, task_id: str, worker: str
) -> tuple[CoverageRun, CoverageChunk, datetime] | None:
    """Mark the chunk running (one more attempt) when its run is active and it is not done; None otherwise.

    A chunk another task is running on a live worker (heartbeat within WORKER_LOST_AFTER) is left to it: a
    second copy of the chunk's message (a re-send, a broker's redelivery) then does nothing.
    """
    run = CoverageRun.objects.filter(pk=run_id).first()
    if run is None or run.status not in ACTIVE_STATUSES or not run_fits_this_worker(run):
        return None
    now = timezone.now()
    claimable = (
        Q(status=ChunkStatus.PENDING)
        | Q(task_id=task_id)
        | Q(heartbeat_at__isnull=True)
        | Q(heartbeat_at__lt=now - WORKER_LOST_AFTER)
    )
    chunk = CoverageChunk.objects.filter(run_id=run_id, chunk_index=chunk_index).first()
    if chunk is None or chunk.status == ChunkStatus.DONE:
        return None
    if not CoverageChunk.objects.filter(claimable, pk=chunk.pk).exists():
        return None
    if chunk.attempts >= MAX_CHUNK_ATTEMPTS:
        coverage_run_fail(
            run_id=run_id,
            reason=f"Chunk {chunk_index} was started {chunk.attempts} times without "
            f"finishing (last on {chunk.worker or 'an unknown worker'}); the "
            f"worker may be running out of memory or time.",
        )
        return None
    claimed = (
        CoverageChunk.objects.filter(claimable, pk=chunk.pk)
        .exclude(status=ChunkStatus.DONE)
        .update(
            status=ChunkStatus.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            task_id=task_id or chunk.task_id,
            worker=worker,
        )
    )
    if not claimed:
        return None
    return run, chunk, now


def coverage_chunk_simulate(
    *, run_id: int, chunk_index: int, task_id: str = "", worker: str = "", enqueue_finish: bool = True
) -> bool:
    """Simulate one chunk of an active run and record it. Returns False when there was nothing to do.

    Safe to run twice: a chunk already done is skipped, a chunk whose earlier attempt was lost is
    recomputed into the same row and file (same seed, same result).
    """
    claimed = _chunk_claim(run_id=run_id, chunk_index=chunk_index, task_id=task_id, worker=worker)
    if claimed is None:
        return False
    run, chunk, now = claimed
    CoverageRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(status=RunStatus.RUNNING, started_at=now)
    CoverageRun.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).update(last_progress_at=now)
    try:
        inputs = run_frozen_inputs(run)
        result = run_simulate(run, inputs, (chunk.path_start, chunk.path_stop))
        relative = f"{run.inputs_file.rsplit('/', 1)[0]}/chunk-{chunk_index:05d}.npz"
        digest = arrays_write(relative, result_to_arrays(result, with_fund_path=True), compress=False)
    except CoverageFileError as error:
        coverage_run_fail(run_id=run_id, reason=f"{error} The run cannot be reproduced; start a new run.")
        return False
    except SoftTimeLimitExceeded:
        coverage_run_fail(
            run_id=run_id,
            reason=f"Chunk {chunk_index} exceeded the time limit of "
            f"{CHUNK_SOFT_TIME_LIMIT} s; use fewer paths or a smaller chunk size.",
        )
        return False
    except (DatabaseError, CoverageStorageUnavailable):
        raise  # transient: the task retries
    except Exception as error:
        logger.exception("coverage run %s chunk %s failed", run_id, chunk_index)
        coverage_run_fail(run_id=run_id, reason=f"Chunk {chunk_index} failed: {type(error).__name__}: {error}")
        return False
    return _chunk_done(
        run_id=run_id, chunk_pk=chunk.pk, relative=relative, digest=digest, enqueue_finish=enqueue_finish
    )


def _chunk_done(*, run_id: int, chunk_pk: int, relative: str, digest: str, enqueue_finish: bool) -> bool:
    with transaction.atomic():
        now = timezone.now()
        counted = (
            CoverageChunk.objects.filter(pk=chunk_pk)
            .exclude(status=ChunkStatus.DONE)
            .update(status=ChunkStatus.DONE, finished_at=now, result_file=relative, result_sha256=digest)
        )
        if not counted:
            return False
        # the row lock taken here serialises the last increments: one chunk sees done == count
        CoverageRun.objects.filter(pk=run_id).update(chunks_done=F("chunks_done") + 1, last_progress_at=now)
        done, total, status = (
            CoverageRun.objects.filter(pk=run_id).values_list("chunks_done", "chunk_count", "status").get()
        )
        if enqueue_finish and done == total and status in ACTIVE_STATUSES:
            dispatch.send_on_commit(FINISH_RUN, run_id=run_id)
    return True


def coverage_run_finish(*, run_id: int, claim: str = "") -> bool:
    """Merge the chunks of a run whose chunks are all done, in chunk order, and store metrics and results.

    `claim` names this merge (the task id; a retry of the task keeps it). Returns False when the run is not
    ready or another live merge holds it (the chord callback and the last chunk may both ask). A DatabaseError
    or an unreachable run storage gives the claim back and propagates, so the task's retry (or another merge)
    can claim the run at once. A chunk whose file is missing or altered is computed again, never merged.
    """
    claim = claim or f"merge-{uuid.uuid4().hex}"
    now = timezone.now()
    claimed = CoverageRun.objects.filter(
        in_this_run_storage(),
        Q(merge_claim="")
        | Q(merge_claim=claim)
        | Q(merge_heartbeat_at__isnull=True)
        | Q(merge_heartbeat_at__lt=now - WORKER_LOST_AFTER),
        pk=run_id,
        status=RunStatus.RUNNING,
        chunks_done=F("chunk_count"),
    ).update(merge_started_at=now, merge_claim=claim, merge_heartbeat_at=now)
    if not claimed:
        return False
    try:
        return _run_merge(run_id=run_id)
    except (DatabaseError, CoverageStorageUnavailable):
        _merge_release(run_id=run_id, claim=claim)
        raise


def _merge_release(*, run_id: int, claim: str) -> None:
    """Give back a merge claim after a database error (the connection may be gone: it is replaced first).

    Inside a transaction the claim is the transaction's and is rolled back with it. When the database cannot
    be reached at all, the claim stays; the task's retry holds the same claim, and it goes stale when no
    worker reports the merge for WORKER_LOST_AFTER.
    """
    if connection.in_atomic_block:
        return
    try:
        connection.close_if_unusable_or_obsolete()
        CoverageRun.objects.filter(pk=run_id, merge_claim=claim).update(merge_claim="", merge_heartbeat_at=None)
    except DatabaseError:
        logger.warning("coverage run %s: the merge claim could not be given back", run_id, exc_info=True)


def _run_merge(*, run_id: int) -> bool:
    run = CoverageRun.objects.get(pk=run_id)
    started = time.perf_counter()
    try:
        chunks = list(run.chunks.order_by("chunk_index"))
        config, symbols = run_config(run), tuple(m["symbol"] for m in run.market_inputs["markets"])
        results, unusable = [], []
        for chunk in chunks:
            try:
                arrays = arrays_read(chunk.result_file, chunk.result_sha256, what=f"chunk {chunk.chunk_index}")
            except CoverageFileError as error:
                unusable.append((chunk, str(error)))
                continue
            results.append(
                result_from_arrays(
                    arrays,
                    seed=int(run.seed),
                    fund_balance=float(run.fund_balance),
                    config=config,
                    symbols=symbols,
                    engine_version=run.engine_version,
                )
            )
        if unusable:
            return _chunks_recompute(run, unusable)
        merged = SimulationResult.concatenate(results)
        metrics = coverage_metrics(merged, target_exhaustion_probability=float(run.target_exhaustion_probability))
        relative = f"{run.inputs_file.rsplit('/', 1)[0]}/results.npz"
        digest = arrays_write(relative, result_to_arrays(merged, with_fund_path=False), compress=False)
    except (DatabaseError, CoverageStorageUnavailable):
        raise  # transient: the claim is given back and the task retries
    except Exception as error:
        logger.exception("coverage run %s could not be merged", run_id)
        coverage_run_fail(run_id=run_id, reason=f"Merging the chunks failed: {type(error).__name__}: {error}")
        return False
    finished = timezone.now()
    durations = [c.duration_seconds for c in chunks if c.duration_seconds is not None]
    metrics["timings"] = {
        "queued_seconds": (run.started_at - run.created_at).total_seconds() if run.started_at else None,
        "wall_seconds": (finished - run.started_at).total_seconds() if run.started_at else None,
        "chunk_seconds_total": sum(durations),
        "chunk_seconds_max": max(durations, default=0.0),
        "merge_seconds": time.perf_counter() - started,
        "workers": sorted({c.worker for c in chunks if c.worker}),
    }
    return bool(
        CoverageRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.SUCCEEDED,
            finished_at=finished,
            metrics=metrics,
            results_file=relative,
            results_sha256=digest,
            error="",
            merge_claim="",
        )
    )


def _chunks_recompute(run: CoverageRun, unusable: list[tuple[CoverageChunk, str]]) -> bool:
    """Put chunks whose result file is missing or altered back to pending and send them again; never merge them.

    The chunk's seed and paths are on its row, so the recomputed file is the one that was lost. A chunk that
    already used its attempts fails the run instead (the storage keeps losing or changing its file).
    """
    exhausted = [(chunk, reason) for chunk, reason in unusable if chunk.attempts >= MAX_CHUNK_ATTEMPTS]
    if exhausted:
        chunk, reason = exhausted[0]
        coverage_run_fail(
            run_id=run.pk,
            reason=f"{reason} Chunk {chunk.chunk_index} was computed {chunk.attempts} times; check the run storage.",
        )
        return False
    indices = sorted(chunk.chunk_index for chunk, _ in unusable)
    for _chunk, reason in unusable:
        logger.warning("coverage run %s: %s The chunk is computed again.", run.pk, reason)
    with transaction.atomic():
        reset = CoverageChunk.objects.filter(run=run, chunk_index__in=indices, status=ChunkStatus.DONE).update(
            status=ChunkStatus.PENDING, result_file="", result_sha256="", heartbeat_at=None, finished_at=None
        )
        CoverageRun.objects.filter(pk=run.pk).update(
            chunks_done=F("chunks_done") - reset,
            merge_claim="",
            merge_heartbeat_at=None,
            last_progress_at=timezone.now(),
        )
        transaction.on_commit(lambda: coverage_chunks_enqueue(run_id=run.pk, chunk_indices=indices))
    return False


@dataclass
class SweepReport:
    requeued: dict[int, list[int]] = field(default_factory=dict)
    merges: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def coverage_runs_sweep(
    *,
    running_task_ids: Callable[[], set[str] | None],
    lost_after: timedelta,
    stalled_after: timedelta,
    max_attempts: int = MAX_CHUNK_ATTEMPTS,
) -> SweepReport:
    """Find active runs whose chunks stopped progressing and put them back on track.

    A running chunk is lost when it started more than `lost_after` ago and no worker reports its task
    as active (`running_task_ids()`; None when no worker answered, then only chunks older than the hard
    time limit count). Lost chunks are re-enqueued until they have been started `max_attempts` times,
    then the run fails with the reason. Pending chunks of a run without progress for `stalled_after`
    are sent again (a duplicate is a no-op). A run whose chunks are all done but never merged is merged.
    """
    report = SweepReport()
    now = timezone.now()
    active_runs = CoverageRun.objects.filter(in_this_run_storage(), status__in=ACTIVE_STATUSES).order_by("pk")
    _fail_runs_stalled_on_another_engine(active_runs, now=now, stalled_after=stalled_after, report=report)
    runs = list(active_runs.filter(engine_version=ENGINE_VERSION))
    if not runs:
        return report
    active: set[str] | None = None
    if CoverageChunk.objects.filter(run__in=runs, status=ChunkStatus.RUNNING, started_at__lt=now - lost_after).exists():
        active = running_task_ids()
    for run in runs:
        if run.chunk_count and run.chunks_done == run.chunk_count:
            if _merge_is_stale(run, now=now, lost_after=lost_after):
                dispatch.send(FINISH_RUN, run_id=run.pk)
                report.merges.append(run.pk)
            continue
        lost, resend = _lost_and_stalled_chunks(
            run, now=now, active=active, lost_after=lost_after, stalled_after=stalled_after
        )
        exhausted = [chunk for chunk in lost if chunk.attempts >= max_attempts]
        if exhausted:
            chunk = exhausted[0]
            reason = (
                f"Chunk {chunk.chunk_index} was lost {chunk.attempts} times (last on "
                f"{chunk.worker or 'an unknown worker'}); the worker may have been killed, e.g. out of memory."
            )
            if coverage_run_fail(run_id=run.pk, reason=reason):
                report.failed[run.pk] = reason
            continue
        for chunk in lost:
            CoverageChunk.objects.filter(pk=chunk.pk, status=ChunkStatus.RUNNING).update(
                status=ChunkStatus.PENDING, heartbeat_at=None
            )
            resend.append(chunk.chunk_index)
        if resend:
            coverage_chunks_enqueue(run_id=run.pk, chunk_indices=sorted(resend))
            report.requeued[run.pk] = sorted(resend)
    return report


def _fail_runs_stalled_on_another_engine(
    active_runs: QuerySet[CoverageRun], *, now: datetime, stalled_after: timedelta, report: SweepReport
) -> None:
    """Runs of another engine version that no worker of their version moves on: fail them with the reason."""
    for run in active_runs.exclude(engine_version=ENGINE_VERSION):
        if not _quiet_for(run, now=now, period=stalled_after):
            continue
        reason = (
            f"The run was created for engine {run.engine_version} and no worker of that version has made "
            f"progress for {stalled_after}; the workers run engine {ENGINE_VERSION}, whose paths differ. Start a "
            f"new run with the same inputs."
        )
        if coverage_run_fail(run_id=run.pk, reason=reason):
            report.failed[run.pk] = reason


def _quiet_for(run: CoverageRun, *, now: datetime, period: timedelta) -> bool:
    """Nothing of the run has moved (no chunk progress since it was created or last progressed) for `period`."""
    return (run.last_progress_at or run.created_at) < now - period


def _merge_is_stale(run: CoverageRun, *, now: datetime, lost_after: timedelta) -> bool:
    """All chunks done, but no merge holds the run (or it timed out) and nothing moved for `lost_after`."""
    last_sign = run.merge_heartbeat_at or run.merge_started_at
    stale_merge = not run.merge_claim or last_sign is None or last_sign < now - MERGE_TIMEOUT
    return stale_merge and _quiet_for(run, now=now, period=lost_after)


def _lost_and_stalled_chunks(
    run: CoverageRun, *, now: datetime, active: set[str] | None, lost_after: timedelta, stalled_after: timedelta
) -> tuple[list[CoverageChunk], list[int]]:
    """(running chunks whose worker is gone or that outlived the hard limit, pending chunks of a stalled run)."""
    lost: list[CoverageChunk] = []
    resend: list[int] = []
    stalled = _quiet_for(run, now=now, period=stalled_after)
    hard_limit = now - timedelta(seconds=CHUNK_TIME_LIMIT + 60)
    never_sent_before = now - NEVER_SENT_GRACE
    for chunk in run.chunks.exclude(status=ChunkStatus.DONE).order_by("chunk_index"):
        if chunk.status == ChunkStatus.RUNNING:
            started = chunk.started_at or run.created_at  # a running chunk always has started_at
            too_old = started < hard_limit
            vanished = active is not None and chunk.task_id not in active and started < now - lost_after
            if too_old or vanished:
                lost.append(chunk)
        elif stalled or (chunk.enqueued_at is None and run.created_at < never_sent_before):
            resend.append(chunk.chunk_index)  # stalled, or never sent (the broker was down at creation)
    return lost, resend


def celery_running_task_ids() -> set[str] | None:
    """Ids of tasks the workers are executing now; None when no worker answers."""
    replies = current_app.control.inspect(timeout=1.0).active()
    if not replies:
        return None
    return {task["id"] for tasks in replies.values() for task in tasks}


def coverage_run_execute_inline(*, run: CoverageRun, progress: Callable[[int], object] | None = None) -> CoverageRun:
    """Simulate every chunk in this process (in chunk order), then merge: the same code the workers run."""
    for index in range(run.chunk_count):
        coverage_chunk_simulate(run_id=run.pk, chunk_index=index, enqueue_finish=False)
        if progress is not None:
            progress(1)
        run.refresh_from_db(fields=["status"])
        if run.status not in ACTIVE_STATUSES:
            break
    coverage_run_finish(run_id=run.pk)
    run.refresh_from_db()
    return run
