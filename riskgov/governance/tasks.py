"""Governance tasks: the periodic tick (states, queueing, execution, recounts) and per-proposal work.

Tasks take ids, load fresh state and call a service; each is safe to run twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from riskgov.governance.domain.state import executable
from riskgov.governance.models import Proposal, ProposalState
from riskgov.governance.services.execution import ExecutionFailed, proposal_execute
from riskgov.governance.services.proposals import proposal_impact_refresh, proposal_recount_record, proposal_states_sync

logger = logging.getLogger(__name__)

IMPACT_REFRESH_AFTER = timedelta(minutes=15)
RETRY_BASE = timedelta(seconds=15)
RETRY_MAX = timedelta(minutes=15)


def execution_due(proposal: Proposal, now: object) -> bool:
    """Executable, and past the backoff after failed attempts (15 s doubling up to 15 min)."""
    if not executable(proposal, now):  # type: ignore[arg-type]
        return False
    if proposal.last_execution_attempt_at is None or proposal.execution_attempts == 0:
        return True
    wait = min(RETRY_MAX, RETRY_BASE * 2 ** (proposal.execution_attempts - 1))
    return bool(now >= proposal.last_execution_attempt_at + wait)  # type: ignore[operator]


@shared_task(name="riskgov.governance_tick", soft_time_limit=120, time_limit=180)
def governance_tick() -> dict[str, list[int]]:
    """Persist transitions, queue succeeded proposals, dispatch due executions, refresh previews and recounts."""
    now = timezone.now()
    result = proposal_states_sync(now=now)
    due = [
        p.pk
        for p in Proposal.objects.filter(state=ProposalState.QUEUED, executed_at__isnull=True)
        if execution_due(p, now)
    ]
    for proposal_id in due:
        transaction.on_commit(partial(governance_execute.delay, proposal_id=proposal_id))
    for proposal in Proposal.objects.filter(state=ProposalState.ACTIVE):
        if proposal.impact_computed_at is None or now - proposal.impact_computed_at > IMPACT_REFRESH_AFTER:
            transaction.on_commit(partial(governance_impact_refresh.delay, proposal_id=proposal.pk))
    for proposal_id in result["changed"]:
        transaction.on_commit(partial(governance_recount.delay, proposal_id=proposal_id))
    return {**result, "executing": due}


@shared_task(
    name="riskgov.governance_execute", acks_late=True, reject_on_worker_lost=True, soft_time_limit=300, time_limit=360
)
def governance_execute(*, proposal_id: int) -> str:
    """Execute one proposal; a failure is recorded on it and retried by the next tick after a backoff."""
    try:
        return proposal_execute(proposal_id=proposal_id).state
    except ExecutionFailed as exc:
        logger.warning("proposal %s execution failed: %s", proposal_id, exc)
        return f"failed: {exc.code}"


@shared_task(name="riskgov.governance_recount", soft_time_limit=600, time_limit=660)
def governance_recount(*, proposal_id: int) -> bool:
    """Recount from signatures and chain voting power; records the result; returns whether it matches."""
    return proposal_recount_record(proposal_id=proposal_id, actor="system").matches


@shared_task(name="riskgov.governance_impact_refresh", soft_time_limit=300, time_limit=360)
def governance_impact_refresh(*, proposal_id: int) -> None:
    proposal_impact_refresh(proposal_id=proposal_id)
