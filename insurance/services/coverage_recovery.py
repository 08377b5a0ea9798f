"""Putting coverage runs back on track within seconds: heartbeats of the tasks a worker holds, and recovery.

Every worker reports, every HEARTBEAT_INTERVAL, the chunk and merge tasks it holds (received or running):
`coverage_heartbeat_record` stamps those chunk rows and merge claims. `coverage_runs_recover`, which every
worker runs as often, then sees within WORKER_LOST_AFTER when a worker is gone (SIGKILL, out of memory, a lost
machine) and sends its chunks again, and sends the merge of a run whose chunks are all done when no merge holds
it. After the worker's broker connection was (re)established, it also re-sends chunks that were sent but are
neither held by a worker nor waiting on the broker (a broker restarted without persistence loses its queues).

A re-send is a copy: the chunk's claim lets only one task run it, and a chunk is counted done once, so a run
stays bit-identical to the in-process run whatever is sent twice. The periodic sweep (`coverage_runs_sweep`,
on beat) stays the backstop for what this cannot see.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from insurance.models import ACTIVE_STATUSES, ChunkStatus, CoverageChunk, CoverageRun, RunStatus
from insurance.services.coverage_execution import MAX_CHUNK_ATTEMPTS, WORKER_LOST_AFTER, in_this_run_storage
from insurance.services.coverage_runs import FINISH_RUN, coverage_chunks_enqueue, coverage_run_fail
from riskgov.core import dispatch

logger = logging.getLogger(__name__)

# A chunk sent this long ago that no worker holds and that is not waiting on the broker was lost with it.
UNSENT_GRACE = timedelta(seconds=10)
# A run whose chunks are all done and that no merge has claimed for this long gets its merge sent again.
MERGE_GRACE = timedelta(seconds=10)


def coverage_heartbeat_record(*, worker: str, task_ids: Collection[str]) -> int:
    """Record that `worker` holds the tasks `task_ids` now: chunk rows with those task ids, merges with those
    claims. Returns the number of rows stamped."""
    if not task_ids:
        return 0
    now = timezone.now()
    ids = list(task_ids)
    stamped = (
        CoverageChunk.objects.filter(task_id__in=ids)
        .exclude(status=ChunkStatus.DONE)
        .update(heartbeat_at=now, worker=worker)
    )
    return stamped + CoverageRun.objects.filter(merge_claim__in=ids, status=RunStatus.RUNNING).update(
        merge_heartbeat_at=now
    )


@dataclass
class RecoveryReport:
    resent: dict[int, list[int]] = field(default_factory=dict)  # run id: chunk indices sent again
    merges: list[int] = field(default_factory=list)  # runs whose merge was sent again
    failed: dict[int, str] = field(default_factory=dict)  # run id: reason


def coverage_runs_recover(*, waiting_messages: Callable[[], int | None] | None = None) -> RecoveryReport:
    """Send again the chunks of active runs whose worker is gone, and the merges nobody holds.

    A chunk's worker is gone when the chunk was received or started and no worker reported it for
    WORKER_LOST_AFTER; such a chunk is sent again (a run whose chunk was started MAX_CHUNK_ATTEMPTS times fails
    with the reason). With `waiting_messages` (the number of messages waiting in the chunk queue, None when the
    broker does not answer), chunks sent more than UNSENT_GRACE ago that no worker holds are sent again when
    fewer messages wait than there are such chunks: some were lost on the broker.
    """
    report = RecoveryReport()
    now = timezone.now()
    runs = CoverageRun.objects.filter(in_this_run_storage(), status__in=ACTIVE_STATUSES, chunk_count__gt=0).order_by(
        "pk"
    )
    unsent = [(run, chunks) for run in runs if (chunks := _run_recover(run, now=now, report=report))]
    if unsent and waiting_messages is not None:
        waiting = waiting_messages()
        if waiting is not None and waiting < sum(len(chunks) for _, chunks in unsent):
            for run, chunks in unsent:
                if resent := _chunks_resend(run, chunks):
                    report.resent.setdefault(run.pk, []).extend(resent)
    for run_id, indices in report.resent.items():
        logger.warning("coverage run %s: chunks %s sent again (their worker or the broker lost them)", run_id, indices)
    return report


def _run_recover(run: CoverageRun, *, now: datetime, report: RecoveryReport) -> list[CoverageChunk]:
    """Re-send the chunks of `run` whose worker is gone (or its merge); returns its sent chunks nobody holds."""
    if run.chunks_done == run.chunk_count:
        if _merge_resend(run, now=now):
            report.merges.append(run.pk)
        return []
    gone, never_held = _gone_and_unheld_chunks(run, now=now)
    exhausted = [c for c in gone if c.status == ChunkStatus.RUNNING and c.attempts >= MAX_CHUNK_ATTEMPTS]
    if exhausted:
        chunk = exhausted[0]
        reason = (
            f"Chunk {chunk.chunk_index} was started {chunk.attempts} times and its worker was lost each time "
            f"(last {chunk.worker or 'an unknown worker'}); the worker may have been killed, e.g. out of memory."
        )
        if coverage_run_fail(run_id=run.pk, reason=reason):
            report.failed[run.pk] = reason
        return []
    if resent := _chunks_resend(run, gone):
        report.resent[run.pk] = resent
    return never_held


def _gone_and_unheld_chunks(run: CoverageRun, *, now: datetime) -> tuple[list[CoverageChunk], list[CoverageChunk]]:
    """(chunks a worker held and stopped reporting, sent chunks no worker has reported yet)."""
    gone: list[CoverageChunk] = []
    unheld: list[CoverageChunk] = []
    lost_before, sent_before = now - WORKER_LOST_AFTER, now - UNSENT_GRACE
    for chunk in run.chunks.exclude(status=ChunkStatus.DONE).order_by("chunk_index"):
        last_sign = chunk.heartbeat_at or (chunk.started_at if chunk.status == ChunkStatus.RUNNING else None)
        if last_sign is not None:
            if last_sign < lost_before:
                gone.append(chunk)
        elif chunk.enqueued_at is not None and chunk.enqueued_at < sent_before:
            unheld.append(chunk)
    return gone, unheld


def _chunks_resend(run: CoverageRun, chunks: list[CoverageChunk]) -> list[int]:
    """Put `chunks` back to pending and send them again; a chunk another watchdog re-sent meanwhile is skipped."""
    indices = []
    for chunk in chunks:
        taken = (
            CoverageChunk.objects.filter(pk=chunk.pk, task_id=chunk.task_id, heartbeat_at=chunk.heartbeat_at)
            .exclude(status=ChunkStatus.DONE)
            .update(status=ChunkStatus.PENDING, heartbeat_at=None)
        )
        if taken:
            indices.append(chunk.chunk_index)
    if indices:
        coverage_chunks_enqueue(run_id=run.pk, chunk_indices=indices)
    return indices


def _merge_resend(run: CoverageRun, *, now: datetime) -> bool:
    """Send the merge of a run whose chunks are all done when no live merge holds it (once per MERGE_GRACE)."""
    if run.status != RunStatus.RUNNING:
        return False
    last_progress = run.last_progress_at or run.created_at
    held = run.merge_claim and run.merge_heartbeat_at is not None and run.merge_heartbeat_at >= now - WORKER_LOST_AFTER
    if held or last_progress >= now - MERGE_GRACE:
        return False
    # moving last_progress_at is the token: of several watchdogs, one sends
    taken = CoverageRun.objects.filter(
        Q(last_progress_at=run.last_progress_at) if run.last_progress_at else Q(last_progress_at__isnull=True),
        pk=run.pk,
        status=RunStatus.RUNNING,
    ).update(last_progress_at=now)
    if taken:
        dispatch.send(FINISH_RUN, run_id=run.pk)
    return bool(taken)
