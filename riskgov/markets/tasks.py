from celery import shared_task

from riskgov.markets.services.exposure import exposure_snapshot_take


@shared_task(name="riskgov.exposure_snapshot", soft_time_limit=240, time_limit=300)
def exposure_snapshot() -> int:
    """Write a snapshot set for now; returns the number of rows stored."""
    return len(exposure_snapshot_take())
