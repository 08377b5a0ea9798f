"""The default report schedules are real beat entries: beat's database scheduler, ticking against the
schedule rows the data migration created, publishes the report task to the broker."""

import json
import uuid
from datetime import UTC, datetime
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery_app import app
from riskgov.reports.models import ExposureReport, ReportSchedule
from riskgov.reports.models.reports import REPORT_TASK
from riskgov.reports.services.reports import report_schedule_sync
from riskgov.reports.tasks import generate_exposure_report
from tests.conftest import _redis_up, require_service

pytestmark = [pytest.mark.django_db, pytest.mark.integration]  # publishes to the real broker

DUE_AT = datetime(2026, 11, 25, 6, 0, 30, tzinfo=UTC)  # just after the daily report's 06:00 UTC crontab


def test_default_schedules_are_beat_entries_naming_their_row():
    for schedule in ReportSchedule.objects.select_related("periodic_task", "crontab"):
        task = schedule.periodic_task
        assert task.task == REPORT_TASK and task.enabled
        assert json.loads(task.kwargs) == {"schedule_id": schedule.pk}
        assert task.crontab_id == schedule.crontab_id
    daily = ReportSchedule.objects.get(name="Daily protocol report")
    assert (daily.crontab.minute, daily.crontab.hour, daily.cadence) == ("0", "6", "daily")


def test_editing_a_schedule_keeps_its_beat_entry_in_step():
    schedule = ReportSchedule.objects.get(name="Weekly market detail")
    schedule.enabled = False
    schedule.name = "Weekly market detail (paused)"
    schedule.save()
    task = report_schedule_sync(schedule=schedule)
    assert not task.enabled and task.name == "Exposure report: Weekly market detail (paused)"
    assert PeriodicTask.objects.filter(task=REPORT_TASK).count() == 2


def test_beat_tick_publishes_the_report_task_and_the_message_generates_the_report():
    broker = settings.CELERY_BROKER_URL
    require_service(broker.startswith("redis") and _redis_up(broker), f"Redis broker at {broker}")
    schedule = ReportSchedule.objects.get(name="Daily protocol report")
    queue = f"reports-beat-test-{uuid.uuid4().hex[:8]}"  # a queue of its own: no worker consumes it
    PeriodicTask.objects.exclude(pk=schedule.periodic_task_id).update(enabled=False)
    PeriodicTask.objects.filter(pk=schedule.periodic_task_id).update(
        last_run_at=datetime(2026, 11, 24, 6, 0, tzinfo=UTC), queue=queue
    )
    # the scheduler closes "old" connections between reads; here that would be the test's transaction
    with time_machine.travel(DUE_AT, tick=False), mock.patch("django_celery_beat.schedulers.close_old_connections"):
        scheduler = DatabaseScheduler(app=app)
        assert scheduler.tick() == 0  # 0: an entry was due and has been sent
        with app.connection_for_read() as connection:
            consumer = connection.SimpleQueue(queue)
            try:
                message = consumer.get(timeout=5)
                message.ack()
            finally:
                consumer.queue.delete()
                consumer.close()
        args, kwargs, _ = message.decode()
        assert message.headers["task"] == REPORT_TASK
        assert (args, kwargs) == ([], {"schedule_id": schedule.pk})

        report_id = generate_exposure_report(**kwargs, deliver=False)  # what the worker runs for that message
    report = ExposureReport.objects.get(pk=report_id)
    assert (report.schedule, report.period_label, report.requested_by) == (schedule, "2026-11-24", "beat")
    assert not report.has_data
