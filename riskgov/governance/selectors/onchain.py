"""On-chain mode reads: the deployment's mode and the Governor's live view of a proposal (state, nonces).

Live reads go to the node through the governance chain client (chain_reads), so tests can replace it.
"""

from __future__ import annotations

from django.conf import settings

from chain import governor as chain_governor
from riskgov.governance.models import GovernanceMode, ProposalState
from riskgov.governance.selectors import chain_reads

GOVERNOR_STATES = {
    chain_governor.GovernorState.PENDING: ProposalState.PENDING,
    chain_governor.GovernorState.ACTIVE: ProposalState.ACTIVE,
    chain_governor.GovernorState.CANCELED: ProposalState.CANCELED,
    chain_governor.GovernorState.DEFEATED: ProposalState.DEFEATED,
    chain_governor.GovernorState.SUCCEEDED: ProposalState.SUCCEEDED,
    chain_governor.GovernorState.QUEUED: ProposalState.QUEUED,
    chain_governor.GovernorState.EXPIRED: ProposalState.EXPIRED,
    chain_governor.GovernorState.EXECUTED: ProposalState.EXECUTED,
}


def governance_mode() -> str:
    """This deployment's mode (RISKGOV_GOVERNANCE_MODE): "offchain" or "onchain"."""
    return str(getattr(settings, "RISKGOV_GOVERNANCE_MODE", GovernanceMode.OFFCHAIN))


def onchain_mode() -> bool:
    return governance_mode() == GovernanceMode.ONCHAIN


def governor_state(governor: str, proposal_id: int) -> str:
    """The Governor's state() of `proposal_id` as a ProposalState value. Raises ChainError when the node fails or
    the Governor does not know the proposal (GovernorNonexistentProposal)."""
    w3 = chain_reads.chain_client().w3
    return str(GOVERNOR_STATES[chain_governor.proposal_state(w3, governor, proposal_id)])


def governor_nonce(governor: str, voter: str) -> int:
    """The Governor's nonces(voter): the nonce its next castVoteBySig must carry."""
    return int(chain_governor.vote_nonce(chain_reads.chain_client().w3, governor, voter))


def governor_has_voted(governor: str, proposal_id: int, voter: str) -> bool:
    """The Governor's hasVoted(proposalId, voter)."""
    return bool(chain_governor.has_voted(chain_reads.chain_client().w3, governor, proposal_id, voter))
