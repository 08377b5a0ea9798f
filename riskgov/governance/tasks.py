"""Governance tasks: the periodic tick and per-proposal work.

Tasks take ids, load fresh state through one service call, and are safe to run twice.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task

from riskgov.core import dispatch
from riskgov.core.services.outbox import TransientDeliveryError
from riskgov.core.tasking import retry_policy
from riskgov.governance.errors import ActionNotAllowed
from riskgov.governance.services.delegation import delegation_relay_send
from riskgov.governance.services.execution import ExecutionFailed, ExecutionUnavailable, proposal_execute
from riskgov.governance.services.impact_preview import impact_preview_compute
from riskgov.governance.services.notifications import notification_delivery_send, notifications_emit
from riskgov.governance.services.onchain_relay import ballots_relay
from riskgov.governance.services.proposals import (
    proposal_coverage_preview,
    proposal_impact_refresh,
    proposal_recount_record,
)
from riskgov.governance.services.risk_budget import POLL_SECONDS, parameter_change_attest
from riskgov.governance.services.siwe import siwe_nonces_purge
from riskgov.governance.services.tick import (
    EXECUTION_BACKOFF_MAX_SECONDS,
    EXECUTION_BACKOFF_SECONDS,
    EXECUTION_MAX_RETRIES,
    governance_tick_run,
)

logger = logging.getLogger(__name__)


@shared_task(name="riskgov.governance_tick", soft_time_limit=120, time_limit=180)
def governance_tick() -> dict[str, list[int]]:
    """Persist transitions, queue succeeded proposals, send due executions, preview refreshes and recounts."""
    return governance_tick_run()


@shared_task(
    bind=True,
    name="riskgov.governance_execute",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=300,
    time_limit=360,
    **retry_policy(
        ExecutionUnavailable,
        max_retries=EXECUTION_MAX_RETRIES,
        backoff_seconds=EXECUTION_BACKOFF_SECONDS,
        backoff_max_seconds=EXECUTION_BACKOFF_MAX_SECONDS,
    ),
)
def governance_execute(self: Task, *, proposal_id: int) -> str:
    """Execute one proposal (idempotent); every failure is recorded on it.

    An unreachable chain is retried with the shared backoff; any other failure, or the last retry, waits for
    the tick to send the execution again.
    """
    try:
        return proposal_execute(proposal_id=proposal_id).state
    except ActionNotAllowed as exc:  # vetoed, expired or no longer queued since it was sent
        return f"skipped: {exc.code}"
    except ExecutionFailed as exc:
        if isinstance(exc, ExecutionUnavailable) and self.request.retries < EXECUTION_MAX_RETRIES:
            raise
        logger.warning("proposal %s execution failed: %s", proposal_id, exc)
        return f"failed: {exc.code}"


@shared_task(name="riskgov.governance_recount", soft_time_limit=600, time_limit=660)
def governance_recount(*, proposal_id: int) -> bool:
    """Recount from signatures and chain voting power; records the result; returns whether it matches."""
    return proposal_recount_record(proposal_id=proposal_id, actor="system").matches


@shared_task(name="riskgov.governance_impact_refresh", soft_time_limit=300, time_limit=360)
def governance_impact_refresh(*, proposal_id: int) -> None:
    """Recompute the impact preview of one proposal against today's positions and prices."""
    proposal_impact_refresh(proposal_id=proposal_id)


@shared_task(
    name="riskgov.governance_coverage_preview",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=300,
    time_limit=360,
    **retry_policy(),
)
def governance_coverage_preview(*, proposal_id: int) -> int | None:
    """Freeze and enqueue a proposal's paired coverage runs (once; a second delivery changes nothing)."""
    return proposal_coverage_preview(proposal_id=proposal_id).coverage_proposed_id


@shared_task(
    name="riskgov.governance_impact_preview",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=300,
    time_limit=360,
    **retry_policy(),
)
def governance_impact_preview(*, preview_id: int) -> int | None:
    """The impact preview of a proposal being written: position figures, then its paired coverage runs (once)."""
    return impact_preview_compute(preview_id=preview_id).coverage_proposed_id


@shared_task(name="riskgov.governance_delegation_relay", soft_time_limit=150, time_limit=180)
def governance_delegation_relay(*, relay_id: int) -> str:
    """Send one signed delegation from the relayer and record the outcome (only a queued relay is sent)."""
    return delegation_relay_send(relay_id=relay_id).status


@shared_task(
    name="riskgov.governance_relay_ballots", acks_late=True, reject_on_worker_lost=True, soft_time_limit=240,
    time_limit=300,
)  # fmt: skip
def governance_relay_ballots(*, proposal_id: int | None = None) -> dict[str, int]:
    """On-chain mode: send the collected ballots waiting for the Governor (of one proposal, or all, from beat) and
    store each one's outcome; safe to run twice (a ballot already counted on chain is recognised, not resent)."""
    return ballots_relay(proposal_id=proposal_id)


@shared_task(name="riskgov.governance_siwe_nonces_purge", soft_time_limit=120, time_limit=180)
def governance_siwe_nonces_purge() -> int:
    """Delete sign-in nonces that expired more than a day ago (hourly, from beat); returns how many."""
    return siwe_nonces_purge()


NOTIFICATION_MAX_RETRIES = 8
NOTIFICATION_BACKOFF_SECONDS = 10
NOTIFICATION_BACKOFF_MAX_SECONDS = 3600


@shared_task(name="riskgov.governance_notifications_emit", soft_time_limit=120, time_limit=180)
def governance_notifications_emit(*, proposal_id: int) -> list[int]:
    """Create and send the notifications of what happened to one proposal (idempotent: one per event)."""
    return notifications_emit(proposal_ids=[proposal_id])


@shared_task(
    bind=True,
    name="riskgov.governance_notification_deliver",
    # waits of about 10 s, 20 s, 40 s … capped at an hour, jittered
    **retry_policy(
        TransientDeliveryError,
        max_retries=NOTIFICATION_MAX_RETRIES,
        backoff_seconds=NOTIFICATION_BACKOFF_SECONDS,
        backoff_max_seconds=NOTIFICATION_BACKOFF_MAX_SECONDS,
    ),
    soft_time_limit=60,
    time_limit=90,
    acks_late=True,
    reject_on_worker_lost=True,
)
def governance_notification_deliver(self: Task, *, delivery_id: int) -> str:
    """Send one notification (e-mail or signed webhook); a transient failure is recorded and retried."""
    final = self.request.retries >= NOTIFICATION_MAX_RETRIES
    return str(notification_delivery_send(delivery_id=delivery_id, final_attempt=final).status)


# Polls of one change's paired runs before the tick takes over (about 30 min at POLL_SECONDS).
RISK_BUDGET_MAX_POLLS = 900


@shared_task(
    bind=True,
    name="riskgov.risk_budget_attest",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=300,
    time_limit=360,
    **retry_policy(),
)
def risk_budget_attest(self: Task, *, request_id: int, poll: int = 0) -> str:
    """One step of a parameter change awaiting its risk-budget attestation; sends itself again while the paired
    runs are running (a decided change is left as it is, so a second delivery changes nothing). Run eagerly (unit
    tests) it takes one step: the runs it waits for have not been sent yet."""
    status = parameter_change_attest(request_id=request_id).status
    if status == "awaiting_attestation" and poll < RISK_BUDGET_MAX_POLLS and not self.request.is_eager:
        dispatch.task("riskgov.risk_budget_attest").apply_async(
            kwargs={"request_id": request_id, "poll": poll + 1}, countdown=POLL_SECONDS
        )
    return status
