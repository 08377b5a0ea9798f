from celery import shared_task

from riskgov.services.exposure import exposure_snapshot_take


@shared_task(name="riskgov.exposure_snapshot", soft_time_limit=240, time_limit=300)
def exposure_snapshot() -> int:
    """Write a snapshot set for now; returns the number of rows stored."""
    return len(exposure_snapshot_take())

import riskgov.tasks_governance  # noqa: E402  (governance tasks, found by autodiscovery through this module)
import riskgov.tasks_reports  # noqa: E402, F401  (report tasks, found by autodiscovery through this module)
from riskgov import tasks_monitoring  # noqa: E402, F401  (margin policy and monitoring tasks, found by autodiscovery)
