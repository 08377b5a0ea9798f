"""Beat schedules come from a data migration and stay editable in the admin; the daily run uses current parameters."""

from typing import Any

import pytest
from django_celery_beat.models import PeriodicTask

from insurance.models import CoverageRun, ParameterSet, RunStatus
from insurance.services import coverage_runs
from insurance.tasks import daily_coverage_run
from tests.insurance.conftest import build_book

pytestmark = pytest.mark.django_db


def test_schedules_are_installed() -> None:
    tasks = {task.name: task for task in PeriodicTask.objects.filter(task__startswith="insurance.")}
    assert tasks["Daily coverage run"].task == "insurance.daily_coverage_run" and tasks["Daily coverage run"].crontab
    sweeper = tasks["Coverage run sweeper"]
    assert sweeper.task == "insurance.sweep_stale_runs" and sweeper.interval.every == 2


def test_daily_run_uses_current_parameters_and_the_fund(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    fund = build_book()
    sent: list[int] = []
    monkeypatch.setattr(coverage_runs, "coverage_run_enqueue", lambda *, run_id: sent.append(run_id) or 0)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = daily_coverage_run.run()
    run = CoverageRun.objects.get(pk=run_id)
    assert sent == [run_id] and run.parameter_set == ParameterSet.CURRENT and run.fund == fund
    assert run.status == RunStatus.QUEUED and run.requested_by == "scheduler" and run.paths == 10_000
