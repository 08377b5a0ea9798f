"""One retry policy for every Celery task that can meet a transient failure.

Celery retries the listed exceptions itself (``autoretry_for``) with exponential backoff and full jitter, so
no task hand-writes its own countdown. Only idempotent tasks use it: a retried task runs again from the start.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError


def retry_policy(
    *transient: type[BaseException],
    max_retries: int = 5,
    backoff_seconds: int = 5,
    backoff_max_seconds: int = 600,
) -> dict[str, Any]:
    """Task options retrying `transient` errors: waits of about 5, 10, 20 … s (capped, jittered)."""
    return {
        "autoretry_for": transient or (DatabaseError,),
        "retry_backoff": backoff_seconds,
        "retry_backoff_max": backoff_max_seconds,
        "retry_jitter": True,
        "max_retries": max_retries,
    }
