"""The periodic governance pass: persist states, then send the work that is due (executions, previews, recounts).

Work is sent by task name after commit. An execution is claimed by a conditional UPDATE before it is sent, so
overlapping or repeated ticks send it once; Celery's retry policy (riskgov.core.tasking) then owns its retries.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from riskgov.core import dispatch
from riskgov.governance.models import Proposal
from riskgov.governance.selectors.due import proposals_executable, proposals_impact_stale
from riskgov.governance.services.notifications import notifications_emit
from riskgov.governance.services.onchain import onchain_proposals_sync
from riskgov.governance.services.proposals import proposal_states_sync
from riskgov.governance.services.risk_budget import parameter_changes_resend

EXECUTE_TASK = "riskgov.governance_execute"
IMPACT_REFRESH_TASK = "riskgov.governance_impact_refresh"
RECOUNT_TASK = "riskgov.governance_recount"

# The execute task's retry policy: waits of about 15 s, 30 s, 1 min … capped at 15 min, jittered.
EXECUTION_MAX_RETRIES = 8
EXECUTION_BACKOFF_SECONDS = 15
EXECUTION_BACKOFF_MAX_SECONDS = 15 * 60
# Longer than any wait inside a live retry chain (the backoff cap plus one attempt's 6 min limit), so the tick
# sends an execution again only once Celery has stopped retrying it (or a manual attempt failed that long ago).
EXECUTION_RESEND_AFTER = timedelta(minutes=30)


def proposal_execution_send(*, proposal_id: int, now: datetime) -> bool:
    """Send the execution of `proposal_id` unless one was sent or attempted within EXECUTION_RESEND_AFTER.

    Claims the proposal by stamping `last_execution_attempt_at` in one conditional UPDATE; returns whether it
    was sent by this call.
    """
    claimed = (
        Proposal.objects.filter(pk=proposal_id, executed_at__isnull=True)
        .filter(
            Q(last_execution_attempt_at__isnull=True) | Q(last_execution_attempt_at__lt=now - EXECUTION_RESEND_AFTER)
        )
        .update(last_execution_attempt_at=now)
    )
    if claimed:
        dispatch.send_on_commit(EXECUTE_TASK, proposal_id=proposal_id)
    return bool(claimed)


def governance_tick_run(*, now: datetime | None = None) -> dict[str, list[int]]:
    """One periodic pass; returns proposal ids by what happened to them.

    Persists derived states and queues succeeded proposals (on-chain ones take the Governor's state), sends the
    execution of off-chain ones past their timelock, refreshes impact previews older than 15 min and recounts
    proposals whose state changed. Safe to run twice: executions are claimed, refreshes and recounts are idempotent.
    """
    now = now or timezone.now()
    result = proposal_states_sync(now=now)
    result["changed"] += onchain_proposals_sync(now=now)  # on-chain proposals: the Governor's state and outcome
    executing = [p.pk for p in proposals_executable(now=now) if proposal_execution_send(proposal_id=p.pk, now=now)]
    refreshing = proposals_impact_stale(now=now)
    for proposal_id in refreshing:
        dispatch.send_on_commit(IMPACT_REFRESH_TASK, proposal_id=proposal_id)
    for proposal_id in result["changed"]:
        dispatch.send_on_commit(RECOUNT_TASK, proposal_id=proposal_id)
    notified = notifications_emit(now=now)  # one delivery per event and subscriber, however often this runs
    attesting = parameter_changes_resend(now=now)  # changes whose attestation step was lost
    return {**result, "executing": executing, "refreshing": refreshing, "notified": notified, "attesting": attesting}
