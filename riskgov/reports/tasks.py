"""Report tasks: beat generates a schedule's report, then each recipient's e-mail is its own retried task."""

from __future__ import annotations

from celery import Task, shared_task

from riskgov.core import dispatch
from riskgov.core.services.outbox import TransientDeliveryError
from riskgov.core.tasking import retry_policy
from riskgov.reports.selectors.reports import report_schedule_to_generate
from riskgov.reports.services.rendered import report_files_render
from riskgov.reports.services.reports import (
    exposure_report_generate,
    report_deliveries_prepare,
    report_delivery_send,
    report_period_resolve,
)
from riskgov.reports.services.subscriptions import report_subscription_confirmation_send

DELIVERY_MAX_RETRIES = 6
DELIVERY_BACKOFF_SECONDS = 30
DELIVERY_BACKOFF_MAX_SECONDS = 3600


@shared_task(name="riskgov.generate_exposure_report", soft_time_limit=240, time_limit=300)
def generate_exposure_report(
    *,
    schedule_id: int,
    period: str | None = None,
    requested_by: str = "beat",
    on_demand: bool = False,
    deliver: bool = True,
) -> int | None:
    """Generate (or find) the report of a schedule for `period` (default: the last complete one) and send it.

    Beat calls it with the schedule id only; a disabled schedule is skipped unless asked on demand.
    Returns the report id, or None when skipped.
    """
    schedule = report_schedule_to_generate(schedule_id=schedule_id, on_demand=on_demand)
    if schedule is None:
        return None
    resolved = report_period_resolve(schedule=schedule, period=period)
    report = exposure_report_generate(schedule=schedule, period=resolved, requested_by=requested_by).report
    if deliver:
        for delivery_id in report_deliveries_prepare(report=report):
            dispatch.send_on_commit("riskgov.deliver_exposure_report", delivery_id=delivery_id)
    dispatch.send_on_commit("riskgov.render_report_files", report_id=report.pk)
    return report.pk


@shared_task(name="riskgov.render_report_files", soft_time_limit=240, time_limit=300)
def render_report_files(*, report_id: int) -> list[str]:
    """Store the report's PDF and CSV before anyone asks for them; returns the stored file names."""
    return [rendered.file.name for rendered in report_files_render(report_id=report_id)]


@shared_task(
    bind=True,
    name="riskgov.deliver_exposure_report",
    # waits of about 30 s, 1 min, 2 min … capped at an hour, jittered
    **retry_policy(
        TransientDeliveryError,
        max_retries=DELIVERY_MAX_RETRIES,
        backoff_seconds=DELIVERY_BACKOFF_SECONDS,
        backoff_max_seconds=DELIVERY_BACKOFF_MAX_SECONDS,
    ),
    soft_time_limit=60,
    time_limit=90,
    acks_late=True,
    reject_on_worker_lost=True,
)
def deliver_exposure_report(self: Task, *, delivery_id: int) -> str:
    """E-mail one stored report to one recipient; a transient failure is recorded and retried with backoff."""
    final = self.request.retries >= DELIVERY_MAX_RETRIES
    return str(report_delivery_send(delivery_id=delivery_id, final_attempt=final).status)


@shared_task(
    name="riskgov.send_report_subscription_confirmation",
    **retry_policy(
        TransientDeliveryError,
        max_retries=DELIVERY_MAX_RETRIES,
        backoff_seconds=DELIVERY_BACKOFF_SECONDS,
        backoff_max_seconds=DELIVERY_BACKOFF_MAX_SECONDS,
    ),
    soft_time_limit=60,
    time_limit=90,
)
def send_report_subscription_confirmation(*, subscription_id: int) -> bool:
    """Mail a pending subscription its confirmation link; an unreachable mail server is retried with backoff."""
    return report_subscription_confirmation_send(subscription_id=subscription_id)
