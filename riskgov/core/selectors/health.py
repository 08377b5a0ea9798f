"""What `/healthz` reports: each dependency checked with a short timeout, never raising.

Shallow (the load balancer's probe): the database answers a query and the cache stores and returns a value.
Deep (`?deep=1`, for monitoring): also a Celery worker answers a ping through the broker, and beat's heartbeat
(`core.heartbeat`, see `riskgov.core.services.heartbeat`) is younger than three intervals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from riskgov.core.services.heartbeat import HEARTBEAT_CACHE_KEY

WORKER_PING_TIMEOUT = 1.0  # seconds


@dataclass
class HealthReport:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks.values())

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "failing", "checks": self.checks}


def _failure(error: BaseException) -> dict[str, Any]:
    return {"ok": False, "error": f"{type(error).__name__}: {error}"}


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure is what the probe reports
        return _failure(error)
    return {"ok": True}


def _cache() -> dict[str, Any]:
    probe = uuid.uuid4().hex
    try:
        cache.set("riskgov:health-probe", probe, timeout=30)
        answered = cache.get("riskgov:health-probe") == probe
    except Exception as error:  # noqa: BLE001
        return _failure(error)
    return {"ok": answered} if answered else {"ok": False, "error": "the cache did not return the value stored"}


def _worker() -> dict[str, Any]:
    try:
        replies = current_app.control.ping(timeout=WORKER_PING_TIMEOUT)
    except Exception as error:  # noqa: BLE001
        return _failure(error)
    workers = sorted(name for reply in replies or [] for name in reply)
    if not workers:
        return {"ok": False, "error": f"no Celery worker answered a ping within {WORKER_PING_TIMEOUT:g} s"}
    return {"ok": True, "workers": workers}


def _beat(now: datetime) -> dict[str, Any]:
    interval = settings.RISKGOV_HEARTBEAT_SECONDS
    try:
        stored = cache.get(HEARTBEAT_CACHE_KEY)
    except Exception as error:  # noqa: BLE001
        return _failure(error)
    if stored is None:
        return {"ok": False, "error": "no heartbeat recorded: is celery beat running?"}
    last = datetime.fromisoformat(stored)
    age = (now - last).total_seconds()
    check: dict[str, Any] = {"ok": age <= 3 * interval, "last_heartbeat": stored, "age_seconds": round(age, 1)}
    if not check["ok"]:
        check["error"] = f"the last heartbeat is {age:.0f} s old (beat sends one every {interval} s)"
    return check


def health_report(*, deep: bool = False) -> HealthReport:
    """The web process's dependencies; with `deep`, the worker and beat as well."""
    report = HealthReport(checks={"database": _database(), "cache": _cache()})
    if deep:
        report.checks["worker"] = _worker()
        report.checks["beat"] = _beat(timezone.now())
    return report
