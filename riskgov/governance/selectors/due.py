"""What the periodic governance tick finds due: executions past their timelock and stale impact previews."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from riskgov.governance.domain.state import executable
from riskgov.governance.models import GovernanceMode, Proposal, ProposalState
from riskgov.governance.selectors.proposals import tally_attach

IMPACT_REFRESH_AFTER = timedelta(minutes=15)


def proposals_executable(*, now: datetime) -> list[Proposal]:
    """Queued proposals that may execute at `now` (past the timelock, inside the grace period), with their tally.

    Reads the persisted state, so run it after `proposal_states_sync`; the derived state decides.
    """
    proposals = list(
        Proposal.objects.filter(
            state=ProposalState.QUEUED, executed_at__isnull=True, governance_mode=GovernanceMode.OFFCHAIN
        )
    )  # an on-chain proposal is executed by a wallet through the Governor, never by the app
    tally_attach(proposals)
    return [proposal for proposal in proposals if executable(proposal, now)]


def proposals_impact_stale(*, now: datetime) -> list[int]:
    """Ids of active proposals whose impact preview is missing or older than IMPACT_REFRESH_AFTER."""
    stale = Q(impact_computed_at__isnull=True) | Q(impact_computed_at__lt=now - IMPACT_REFRESH_AFTER)
    return list(Proposal.objects.filter(stale, state=ProposalState.ACTIVE).order_by("pk").values_list("pk", flat=True))
