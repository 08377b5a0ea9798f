from celery import shared_task

from riskgov.markets.services.exposure import exposure_snapshot_take
from riskgov.markets.services.import_jobs import import_job_run


@shared_task(name="riskgov.exposure_snapshot", soft_time_limit=240, time_limit=300)
def exposure_snapshot() -> int:
    """Write a snapshot set for now; returns the number of rows stored."""
    return len(exposure_snapshot_take())


@shared_task(name="riskgov.markets_import_job_run", soft_time_limit=3300, time_limit=3600)
def import_job_run_task(*, job_id: int) -> str:
    """Import one stored upload (a large file sent to the workers); safe to run twice."""
    return import_job_run(job_id=job_id)
