"""Beat tasks of the margin policy and monitoring: ids and primitives in, one service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from celery.app.task import Task

from riskgov.core.services.outbox import TransientDeliveryError
from riskgov.core.tasking import retry_policy
from riskgov.monitoring.services.alert_delivery import alert_delivery_send
from riskgov.monitoring.services.coverage_backtest import coverage_backtest_compute, coverage_backtest_scheduled
from riskgov.monitoring.services.coverage_preview import recommendation_coverage_preview
from riskgov.monitoring.services.monitoring import alerts_evaluate
from riskgov.monitoring.services.recommender import margin_recommend_all

DELIVERY_MAX_RETRIES = 8


@shared_task(name="riskgov.recommend_margins", soft_time_limit=600, time_limit=660)
def recommend_margins() -> list[int]:
    """Compute every market's margin recommendation; the ids recorded (or found) this run."""
    return [r.pk for r in margin_recommend_all()]


@shared_task(name="riskgov.evaluate_alerts", soft_time_limit=50, time_limit=58, expires=55)
def evaluate_alerts() -> dict[str, int]:
    """One monitoring sweep; expires before the next one is due so a backlog never piles up."""
    result = alerts_evaluate()
    return {"opened": len(result.opened), "resolved": len(result.resolved), "still_open": result.still_open}


@shared_task(
    bind=True,
    name="riskgov.deliver_alert",
    **retry_policy(
        TransientDeliveryError, max_retries=DELIVERY_MAX_RETRIES, backoff_seconds=10, backoff_max_seconds=1800
    ),
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
)
def deliver_alert(self: Task, *, delivery_id: int) -> str:
    """Send one alert notification; transient failures retry with exponential backoff, each attempt recorded."""
    final = self.request.retries >= DELIVERY_MAX_RETRIES
    return str(alert_delivery_send(delivery_id=delivery_id, final_attempt=final).status)


@shared_task(
    name="riskgov.recommendation_coverage_preview",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=300,
    time_limit=360,
    **retry_policy(),
)
def recommendation_coverage_preview_start(*, recommendation_id: int) -> int | None:
    """Freeze and enqueue a recommendation's paired what-if runs (once; a second delivery changes nothing)."""
    return recommendation_coverage_preview(recommendation_id=recommendation_id).coverage_proposed_id


@shared_task(
    name="riskgov.coverage_backtest",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=600,
    time_limit=660,
)
def coverage_backtest(*, backtest_id: int) -> str:
    """Compute one queued coverage backtest (claimed once, so a second delivery changes nothing)."""
    return coverage_backtest_compute(backtest_id=backtest_id)


@shared_task(name="riskgov.coverage_backtest_daily", soft_time_limit=600, time_limit=660)
def coverage_backtest_daily() -> int:
    """Backtest the last days of the coverage model against realised bad debt; the stored backtest's id."""
    return coverage_backtest_scheduled().pk
