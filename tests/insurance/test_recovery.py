"""Recovery rules of coverage runs, on rows set up as a fault leaves them (the drills run them on real workers):
a chunk whose worker stopped reporting is sent again and a live one is not, chunks the broker lost are sent
again only when fewer messages wait than there are chunks nobody holds, a second copy of a chunk leaves it to
the task running it, and a merge gives its claim back when the database fails under it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone

import insurance.tasks  # noqa: F401  (registers the tasks whose options are checked)
from config.celery_app import app
from insurance.models import ChunkStatus, CoverageChunk, CoverageRun, RunStatus
from insurance.services import coverage_execution
from insurance.services.coverage_execution import CHUNK_TIME_LIMIT, coverage_chunk_simulate, coverage_run_finish
from insurance.services.coverage_recovery import coverage_heartbeat_record, coverage_runs_recover
from insurance.services.coverage_runs import coverage_run_create
from tests.insurance.conftest import NOW, build_book


def _run(chunks: int = 3) -> CoverageRun:
    """A running run of `chunks` chunks on a small book, none of them sent yet."""
    build_book(positions=30)
    run = coverage_run_create(
        label="recovery",
        requested_by="test",
        paths=100 * chunks,
        steps=12,
        chunk_size=100,
        seed=3,
        at=NOW,
        enqueue=False,
    )
    CoverageRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, last_progress_at=timezone.now())
    return run


def _chunk(run: CoverageRun, index: int, **fields: Any) -> None:
    CoverageChunk.objects.filter(run=run, chunk_index=index).update(**fields)


def _sent_chunks(sent: list[Any]) -> list[int]:
    return [kwargs["chunk_index"] for name, _, kwargs, _ in sent if name == "insurance.simulate_chunk"]


@pytest.mark.django_db
def test_a_chunk_whose_worker_stopped_reporting_is_sent_again_and_a_live_one_is_not(
    _tasks_stay_off_the_broker: list[Any],
) -> None:
    run = _run()
    now = timezone.now()
    _chunk(run, 0, status=ChunkStatus.RUNNING, task_id="gone", attempts=1, heartbeat_at=now - timedelta(seconds=30))
    _chunk(run, 1, status=ChunkStatus.RUNNING, task_id="alive", attempts=1, heartbeat_at=now)
    _chunk(run, 2, task_id="queued", enqueued_at=now - timedelta(minutes=5))  # nobody holds it: maybe waiting

    report = coverage_runs_recover()

    assert report.resent == {run.pk: [0]}
    assert _sent_chunks(_tasks_stay_off_the_broker) == [0]
    resent = run.chunks.get(chunk_index=0)
    assert resent.status == ChunkStatus.PENDING and resent.task_id != "gone" and resent.heartbeat_at is None
    assert run.chunks.get(chunk_index=1).task_id == "alive"

    coverage_heartbeat_record(worker="w@host", task_ids={"alive"})
    assert run.chunks.get(chunk_index=1).worker == "w@host"


@pytest.mark.django_db
def test_chunks_nobody_holds_are_sent_again_when_fewer_messages_wait(_tasks_stay_off_the_broker: list[Any]) -> None:
    run = _run()
    long_ago = timezone.now() - timedelta(minutes=5)
    for index in range(3):
        _chunk(run, index, task_id=f"sent-{index}", enqueued_at=long_ago)

    assert coverage_runs_recover(waiting_messages=lambda: 3).resent == {}  # all three may be waiting
    assert coverage_runs_recover(waiting_messages=lambda: None).resent == {}  # the broker does not answer
    assert coverage_runs_recover(waiting_messages=lambda: 0).resent == {run.pk: [0, 1, 2]}
    assert sorted(_sent_chunks(_tasks_stay_off_the_broker)) == [0, 1, 2]
    assert coverage_runs_recover(waiting_messages=lambda: 0).resent == {}  # just sent: not again


@pytest.mark.django_db
def test_a_second_copy_of_a_chunk_leaves_it_to_the_live_task_running_it() -> None:
    run = _run()
    _chunk(run, 0, status=ChunkStatus.RUNNING, task_id="first", attempts=1, heartbeat_at=timezone.now())

    assert coverage_chunk_simulate(run_id=run.pk, chunk_index=0, task_id="copy", worker="other@host") is False
    chunk = run.chunks.get(chunk_index=0)
    assert (chunk.task_id, chunk.attempts, chunk.status) == ("first", 1, ChunkStatus.RUNNING)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


@pytest.mark.django_db
def test_a_finished_run_nobody_merges_gets_its_merge_sent(_tasks_stay_off_the_broker: list[Any]) -> None:
    run = _run(chunks=2)
    CoverageChunk.objects.filter(run=run).update(status=ChunkStatus.DONE)
    earlier = timezone.now() - timedelta(minutes=1)
    CoverageRun.objects.filter(pk=run.pk).update(chunks_done=2, last_progress_at=earlier)
    CoverageRun.objects.filter(pk=run.pk).update(merge_claim="live-merge", merge_heartbeat_at=timezone.now())

    assert coverage_runs_recover().merges == []  # a live merge holds it

    CoverageRun.objects.filter(pk=run.pk).update(merge_heartbeat_at=earlier)
    assert coverage_runs_recover().merges == [run.pk]
    assert [kw for name, _, kw, _ in _tasks_stay_off_the_broker if name == "insurance.finish_run"] == [
        {"run_id": run.pk}
    ]
    assert coverage_runs_recover().merges == []  # sent once per grace period


@pytest.mark.django_db(transaction=True)  # the claim is given back outside a transaction, as on a worker
def test_a_merge_gives_its_claim_back_when_the_database_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(chunks=2)
    CoverageChunk.objects.filter(run=run).update(status=ChunkStatus.DONE)
    CoverageRun.objects.filter(pk=run.pk).update(chunks_done=2)

    def connection_lost(*, run_id: int) -> bool:
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(coverage_execution, "_run_merge", connection_lost)
    with pytest.raises(OperationalError):
        coverage_run_finish(run_id=run.pk, claim="task-1")
    run.refresh_from_db()
    assert run.merge_claim == "" and run.status == RunStatus.RUNNING

    monkeypatch.setattr(coverage_execution, "_run_merge", lambda *, run_id: True)
    assert coverage_run_finish(run_id=run.pk, claim="task-2") is True  # another merge takes it at once
    run.refresh_from_db()
    assert run.merge_claim == "task-2"
    assert coverage_run_finish(run_id=run.pk, claim="task-3") is False  # held by a live merge


def test_the_broker_hands_back_unacknowledged_messages_only_after_a_chunk_could_have_finished() -> None:
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert CHUNK_TIME_LIMIT < visibility < 3600  # a lost worker's messages come back, but not after an hour
    assert app.conf.worker_prefetch_multiplier == 1
    chunk_task = app.tasks["insurance.simulate_chunk"]
    assert chunk_task.acks_late and chunk_task.reject_on_worker_lost
