"""The scheduler's heartbeat: beat sends `core.heartbeat` every RISKGOV_HEARTBEAT_SECONDS, a worker stores the time.

The value lives in the shared cache (Redis in production), so a fresh timestamp says that beat schedules and
that a worker executes; `/healthz?deep=1` reads it (`riskgov.core.selectors.health`).
"""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_CACHE_KEY = "riskgov:beat-heartbeat"


def beat_heartbeat_record(*, at: datetime | None = None) -> datetime:
    """Store `at` (now by default, UTC) as the latest heartbeat; kept for a day."""
    at = at or timezone.now()
    cache.set(HEARTBEAT_CACHE_KEY, at.isoformat(), timeout=24 * 3600)
    return at
