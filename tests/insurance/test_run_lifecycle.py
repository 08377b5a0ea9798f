"""Runs in this process: inline equals the engine, cancel, the stale-run sweeper, the frozen-input hash
check, the command line, and the pages and downloads of a finished run."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from insurance import tasks
from insurance.models import ChunkStatus, CoverageChunk, CoverageRun, RunStatus
from insurance.services import coverage_execution, coverage_runs
from insurance.services.coverage_execution import (
    coverage_chunk_simulate,
    coverage_run_execute_inline,
    coverage_run_finish,
    coverage_runs_sweep,
    run_frozen_inputs,
    run_simulate,
)
from insurance.services.coverage_files import RESULT_FIELDS, arrays_read, media_path
from insurance.services.coverage_runs import (
    CoverageRunError,
    coverage_run_cancel,
    coverage_run_create,
)
from riskgov.core.roles import Role, role_assign
from tests.insurance.conftest import NOW, build_book

pytestmark = pytest.mark.django_db


def new_run(**overrides: Any) -> CoverageRun:
    """A run as a committed request leaves it: the frozen inputs file is written when its transaction commits."""
    options = {
        "label": "t",
        "requested_by": "t",
        "paths": 300,
        "steps": 24,
        "chunk_size": 100,
        "seed": 9,
        "at": NOW,
        "enqueue": False,
        **overrides,
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        return coverage_run_create(**options)


@pytest.fixture
def succeeded_run() -> CoverageRun:
    build_book()
    run = coverage_run_execute_inline(run=new_run(model="student_t", paths=400))
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def test_inline_run_equals_one_engine_call(succeeded_run: CoverageRun) -> None:
    expected = run_simulate(succeeded_run, run_frozen_inputs(succeeded_run))
    stored = arrays_read(succeeded_run.results_file, succeeded_run.results_sha256, what="results")
    for name in RESULT_FIELDS:
        assert np.array_equal(stored[name], getattr(expected, name)), name
    summary = succeeded_run.metrics["summary"]
    assert summary["paths"] == 400 and 0 <= summary["exhaustion_probability"]["value"] <= 1
    assert len(succeeded_run.metrics["fund_quantiles"]["values"]) == 7


def test_cancel_stops_remaining_chunks(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    build_book()
    run = new_run()
    revoked: list[list[str]] = []
    monkeypatch.setattr(coverage_runs, "tasks_revoke", revoked.append)
    assert coverage_chunk_simulate(run_id=run.pk, chunk_index=0)
    CoverageChunk.objects.filter(run=run, chunk_index__gt=0).update(task_id="queued-task")
    with django_capture_on_commit_callbacks(execute=True):
        run = coverage_run_cancel(run=run, actor="analyst")
    assert run.status == RunStatus.CANCELLED and "analyst" in run.error
    assert revoked == [["queued-task", "queued-task"]]
    assert not coverage_chunk_simulate(run_id=run.pk, chunk_index=1)  # a delivered chunk checks first
    assert not coverage_run_finish(run_id=run.pk)
    assert CoverageChunk.objects.get(run=run, chunk_index=1).status == ChunkStatus.PENDING
    with pytest.raises(CoverageRunError, match="only queued or running"):
        coverage_run_cancel(run=run, actor="analyst")


def test_cancel_from_the_run_page(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    build_book()
    run = new_run()
    client.force_login(User.objects.create_user("holder"))
    assert client.post(reverse("insurance:run-cancel", args=[run.pk])).status_code == 403
    steward = User.objects.create_user("analyst")
    role_assign(user=steward, roles=[Role.RISK_STEWARD])
    client.force_login(steward)
    response = client.post(reverse("insurance:run-cancel", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    api = client.post(reverse("insurance:api-run-cancel", args=[run.pk]))
    assert api.status_code == 409
    error = api.json()["error"]
    assert (error["code"], error["field"]) == ("not_cancellable", "status")
    assert "only queued or running" in error["message"]


def _start_chunk(run: CoverageRun, index: int, *, minutes_ago: float, attempts: int = 1, task_id: str = "t") -> None:
    CoverageChunk.objects.filter(run=run, chunk_index=index).update(
        status=ChunkStatus.RUNNING,
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
        attempts=attempts,
        task_id=task_id,
        worker="gone@host",
    )
    CoverageRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        started_at=timezone.now(),
        last_progress_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.fixture
def resent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, list[int]]]:
    sent: list[tuple[int, list[int]]] = []
    monkeypatch.setattr(
        coverage_execution,
        "coverage_chunks_enqueue",
        lambda *, run_id, chunk_indices: sent.append((run_id, chunk_indices)),
    )
    return sent


def sweep(active: set[str] | None) -> coverage_execution.SweepReport:
    return coverage_runs_sweep(
        running_task_ids=lambda: active, lost_after=timedelta(minutes=1), stalled_after=timedelta(minutes=10)
    )


def test_sweeper_requeues_a_chunk_no_worker_is_running(resent: list[tuple[int, list[int]]]) -> None:
    build_book()
    run = new_run()
    coverage_chunk_simulate(run_id=run.pk, chunk_index=0)
    _start_chunk(run, 1, minutes_ago=5, task_id="lost")
    _start_chunk(run, 2, minutes_ago=5, task_id="alive")
    report = sweep({"alive"})
    assert report.requeued == {run.pk: [1]} and resent == [(run.pk, [1])]
    assert CoverageChunk.objects.get(run=run, chunk_index=1).status == ChunkStatus.PENDING
    assert CoverageChunk.objects.get(run=run, chunk_index=2).status == ChunkStatus.RUNNING


def test_sweeper_leaves_young_chunks_and_unknown_workers_alone(resent: list[tuple[int, list[int]]]) -> None:
    build_book()
    run = new_run()
    _start_chunk(run, 0, minutes_ago=0.2, task_id="young")
    _start_chunk(run, 1, minutes_ago=5, task_id="unknown")
    assert sweep({"unknown"}).requeued == {}  # 1 is running; 0 is not reported yet but too young to call lost
    assert sweep(None).requeued == {}  # no worker answered: only the hard time limit decides
    _start_chunk(run, 1, minutes_ago=30, task_id="unknown")
    assert sweep(None).requeued == {run.pk: [1, 2]}  # 1 outlived the hard limit; the stalled run resends 2


def test_sweeper_fails_a_run_whose_chunk_keeps_getting_lost(resent: list[tuple[int, list[int]]]) -> None:
    build_book()
    run = new_run()
    _start_chunk(run, 2, minutes_ago=5, attempts=3)
    report = sweep(set())
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and report.failed == {run.pk: run.error}
    assert "Chunk 2 was lost 3 times" in run.error and resent == []


def test_sweeper_resends_a_stalled_run_and_merges_a_finished_one(
    monkeypatch: pytest.MonkeyPatch, resent: list[tuple[int, list[int]]]
) -> None:
    build_book()
    stalled, unmerged = new_run(), new_run()
    CoverageRun.objects.filter(pk=stalled.pk).update(created_at=timezone.now() - timedelta(hours=1))
    for index in range(unmerged.chunk_count):
        coverage_chunk_simulate(run_id=unmerged.pk, chunk_index=index, enqueue_finish=False)
    CoverageRun.objects.filter(pk=unmerged.pk).update(last_progress_at=timezone.now() - timedelta(minutes=5))
    merges: list[int] = []
    monkeypatch.setattr(tasks.finish_run, "delay", lambda *, run_id: merges.append(run_id))
    report = sweep(set())
    assert resent == [(stalled.pk, [0, 1, 2])] and merges == [unmerged.pk] and report.merges == [unmerged.pk]
    assert coverage_run_finish(run_id=unmerged.pk)
    unmerged.refresh_from_db()
    assert unmerged.status == RunStatus.SUCCEEDED


def test_altered_frozen_inputs_fail_the_run_with_a_clear_reason() -> None:
    build_book()
    run = new_run()
    path = media_path(run.inputs_file)
    path.write_bytes(path.read_bytes() + b"\0")
    assert not coverage_chunk_simulate(run_id=run.pk, chunk_index=0)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "frozen inputs" in run.error and "altered" in run.error


@pytest.mark.parametrize("damage", ["altered", "missing"])
def test_an_altered_or_missing_chunk_result_is_computed_again_never_merged(
    damage: str, _tasks_stay_off_the_broker: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    build_book()
    run = new_run()
    for index in range(run.chunk_count):
        coverage_chunk_simulate(run_id=run.pk, chunk_index=index, enqueue_finish=False)
    chunk = CoverageChunk.objects.get(run=run, chunk_index=1)
    written = media_path(chunk.result_file).read_bytes()
    if damage == "altered":
        media_path(chunk.result_file).write_bytes(written[:-1] + bytes([written[-1] ^ 1]))
    else:
        media_path(chunk.result_file).unlink()
    sent = len(_tasks_stay_off_the_broker)

    with django_capture_on_commit_callbacks(execute=True):
        assert not coverage_run_finish(run_id=run.pk)
    run.refresh_from_db()
    chunk.refresh_from_db()
    assert run.status == RunStatus.RUNNING and not run.results_file and not run.merge_claim
    assert run.chunks_done == run.chunk_count - 1
    assert chunk.status == ChunkStatus.PENDING and not chunk.result_file
    resent = [kwargs for name, _, kwargs, _ in _tasks_stay_off_the_broker[sent:] if name == "insurance.simulate_chunk"]
    assert resent == [{"run_id": run.pk, "chunk_index": 1}]

    assert coverage_chunk_simulate(run_id=run.pk, chunk_index=1, enqueue_finish=False)
    assert media_path(CoverageChunk.objects.get(pk=chunk.pk).result_file).read_bytes() == written
    assert coverage_run_finish(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_a_chunk_run_twice_is_counted_once() -> None:
    build_book()
    run = new_run()
    assert coverage_chunk_simulate(run_id=run.pk, chunk_index=0)
    assert not coverage_chunk_simulate(run_id=run.pk, chunk_index=0)
    run.refresh_from_db()
    assert run.chunks_done == 1 and CoverageChunk.objects.get(run=run, chunk_index=0).attempts == 1


@pytest.mark.django_db(transaction=True)  # the command commits the run, then reads its inputs file
def test_command_line_inline_prints_the_metrics() -> None:
    build_book()
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "coverage_run",
        "--inline",
        "--paths",
        "300",
        "--steps",
        "24",
        "--chunk-size",
        "100",
        "--seed",
        "4",
        "--model",
        "stress:march_2020",
        "--horizon-days",
        "2",
        stdout=out,
        stderr=err,
    )
    run = CoverageRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.model_params["scenario"] == "march_2020"
    assert "P(fund exhausted)" in out.getvalue() and "ES99 bad debt" in out.getvalue()
    with pytest.raises(CommandError, match="paths"):
        call_command("coverage_run", "--inline", "--paths", "0", stdout=out, stderr=err)


def test_command_line_enqueues_without_inline(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    build_book()
    sent: list[int] = []
    monkeypatch.setattr(coverage_runs, "coverage_run_enqueue", lambda *, run_id: sent.append(run_id) or 0)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("coverage_run", "--paths", "200", "--steps", "12", stdout=out)
    assert sent == [CoverageRun.objects.get().pk] and "Enqueued" in out.getvalue()


def test_pages_and_downloads_of_a_finished_run(
    client: Client, succeeded_run: CoverageRun, django_assert_max_num_queries: Any
) -> None:
    run = succeeded_run
    with django_assert_max_num_queries(12):
        home = client.get(reverse("insurance:home"))
    assert home.status_code == 200
    body = home.content.decode()
    assert "insurance-balance" in body and f"#{run.pk}" in body
    # a Student-t run is a what-if: listed with its purpose, never the headline
    assert 'data-purpose="what_if"' in body and "No successful baseline coverage run yet" in body

    detail = client.get(reverse("insurance:run-detail", args=[run.pk])).content.decode()
    assert "insurance-metrics" in detail and "Worst paths" in detail and "every 1500ms" not in detail

    progress = client.get(reverse("insurance:run-progress", args=[run.pk]))
    assert progress["HX-Refresh"] == "true"

    streamed = client.get(reverse("insurance:run-csv", args=[run.pk]))
    assert streamed.streaming  # the table is streamed in chunks, never built as one string
    csv_lines = b"".join(streamed.streaming_content).splitlines()
    assert csv_lines[0].startswith(b"path,bad_debt,penalty_income") and len(csv_lines) == 401
    exported = client.get(reverse("insurance:run-json", args=[run.pk])).json()
    assert exported["inputs"]["seed"] == run.seed and exported["metrics"]["summary"]["paths"] == 400

    other = coverage_run_execute_inline(
        run=new_run(model="student_t", paths=400, parameter_overrides={"ETH": {"mmr": "0.05"}})
    )
    compare = client.get(reverse("insurance:run-compare"), {"a": run.pk, "b": other.pk}).content.decode()
    assert "insurance-compare" in compare and "mmr=0.05" in compare
    assert "Paired difference" in compare and "ΔES99" in compare and "Not a paired comparison" not in compare


def test_progress_fragment_polls_while_the_run_is_active(client: Client) -> None:
    build_book()
    run = new_run()
    coverage_chunk_simulate(run_id=run.pk, chunk_index=0)
    response = client.get(reverse("insurance:run-progress", args=[run.pk]))
    body = response.content.decode()
    assert "HX-Refresh" not in response and 'hx-trigger="every 1500ms"' in body
    assert 'value="1"' in body and "left" in body


def test_a_worker_with_another_run_storage_leaves_the_run_alone(caplog: pytest.LogCaptureFixture) -> None:
    build_book()
    run = new_run()
    assert run.storage.startswith("filesystem:")
    CoverageRun.objects.filter(pk=run.pk).update(storage="S3Storage:elsewhere/runs")

    assert not coverage_chunk_simulate(run_id=run.pk, chunk_index=0)
    assert CoverageChunk.objects.get(run=run, chunk_index=0).attempts == 0
    assert "keeps its files in S3Storage:elsewhere/runs" in caplog.text
    report = coverage_execution.coverage_runs_sweep(
        running_task_ids=set, lost_after=timedelta(0), stalled_after=timedelta(0)
    )
    assert run.pk not in report.requeued and run.pk not in report.failed


def test_a_worker_of_another_engine_version_leaves_the_run_and_the_sweep_fails_it_once_stalled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    build_book()
    run = new_run()
    CoverageRun.objects.filter(pk=run.pk).update(engine_version="0.9.0")

    assert not coverage_chunk_simulate(run_id=run.pk, chunk_index=0)
    chunk = CoverageChunk.objects.get(run=run, chunk_index=0)
    assert (chunk.attempts, chunk.status) == (0, ChunkStatus.PENDING)
    assert "created for engine 0.9.0 but this worker runs engine" in caplog.text
    recent = coverage_runs_sweep(running_task_ids=set, lost_after=timedelta(0), stalled_after=timedelta(minutes=10))
    assert run.pk not in recent.failed and run.pk not in recent.requeued
    CoverageRun.objects.filter(pk=run.pk).update(last_progress_at=timezone.now() - timedelta(minutes=11))
    stalled = coverage_runs_sweep(running_task_ids=set, lost_after=timedelta(0), stalled_after=timedelta(minutes=10))
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.pk in stalled.failed
    assert "created for engine 0.9.0" in run.error and "Start a new run with the same inputs" in run.error
