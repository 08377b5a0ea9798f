from __future__ import annotations

from celery import shared_task

from riskgov.core.services.heartbeat import beat_heartbeat_record


@shared_task(name="core.heartbeat", ignore_result=True, soft_time_limit=20, time_limit=30, expires=60)
def heartbeat() -> None:
    """Sent by beat on a schedule (CELERY_BEAT_SCHEDULE); records that beat and a worker are alive."""
    beat_heartbeat_record()
