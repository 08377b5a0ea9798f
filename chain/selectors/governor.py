"""The active deployment's Governor as the indexer saw it: proposals, counted votes, tallies, queue and execution.

Everything here reads indexed rows (``GovernorProposal``, ``GovernorVote``, ``GovernorProposalEvent``,
``TimelockEvent``), so a page never waits for the node; :mod:`chain.governor` reads the node itself. Proposal ids
are the Governor's (``hashProposal``). Without an on-chain deployment the functions raise
:class:`GovernorNotIndexed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.db.models import Q

from chain.errors import ChainError
from chain.governor import Tally
from chain.models import (
    ChainDeployment,
    ContractRole,
    GovernorProposal,
    GovernorProposalEvent,
    GovernorVote,
    IndexerCheckpoint,
    ProposalEventKind,
    TimelockEvent,
)
from chain.selectors.deployments import active_deployment
from riskgov.core.models.uint256 import Uint256Sum

ProjectedStatus = Literal["created", "queued", "executed", "canceled"]


class GovernorNotIndexed(ChainError):
    """The active deployment has no Governor (off-chain mode), or no deployment exists yet."""


@dataclass(frozen=True)
class GovernanceContracts:
    governor: str
    timelock: str
    indexed_to: int  # last block of the Governor's logs the indexer has read


@dataclass(frozen=True)
class OnchainVote:
    voter: str
    support: int
    weight: int
    reason: str
    with_params: bool
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class OnchainProposal:
    """A proposal as indexed. ``deadline`` includes a late-quorum extension; ``eta`` (unix seconds) is set once
    queued. ``status`` is the furthest lifecycle event seen; Pending / Active / Defeated / Succeeded depend on
    the block and the tally (``chain.governor.proposal_state`` reads them from the node)."""

    proposal_id: int
    proposer: str
    targets: list[str]
    values: list[int]
    calldatas: list[str]
    description: str
    vote_start: int
    vote_end: int
    deadline: int
    extended: bool
    status: ProjectedStatus
    eta: int | None
    tally: Tally
    votes: int
    created_tx: str
    created_block: int
    queued_tx: str
    executed_tx: str
    canceled_tx: str


def _checkpoint(deployment: ChainDeployment | None, role: ContractRole) -> IndexerCheckpoint:
    checkpoint = (
        IndexerCheckpoint.objects.filter(deployment=deployment, role=role).first() if deployment is not None else None
    )
    if checkpoint is None:
        raise GovernorNotIndexed(
            "the active deployment has no Governor: run manage.py chain_deploy --governance onchain"
        )
    return checkpoint


def governance_contracts(*, chain_id: int | None = None) -> GovernanceContracts | None:
    """The active deployment's Governor and timelock, or None in off-chain mode / before ``chain_deploy``."""
    deployment = active_deployment(chain_id=chain_id)
    if deployment is None or not deployment.governor:
        return None
    checkpoint = _checkpoint(deployment, ContractRole.GOVERNOR)
    return GovernanceContracts(
        governor=deployment.governor, timelock=deployment.timelock, indexed_to=checkpoint.block_number
    )


def _governor_checkpoint() -> IndexerCheckpoint:
    return _checkpoint(active_deployment(), ContractRole.GOVERNOR)


def onchain_tally(proposal_id: int) -> Tally:
    """Votes (wei) per side from the indexed VoteCast / VoteCastWithParams events."""
    checkpoint = _governor_checkpoint()
    sums = GovernorVote.objects.filter(checkpoint=checkpoint, proposal_id=proposal_id).aggregate(
        against=Uint256Sum("weight", filter=Q(support=0)),
        for_=Uint256Sum("weight", filter=Q(support=1)),
        abstain=Uint256Sum("weight", filter=Q(support=2)),
    )
    return Tally(against=int(sums["against"] or 0), for_=int(sums["for_"] or 0), abstain=int(sums["abstain"] or 0))


def onchain_votes(proposal_id: int) -> list[OnchainVote]:
    """The votes counted on chain for the proposal, in chain order."""
    checkpoint = _governor_checkpoint()
    rows = GovernorVote.objects.filter(checkpoint=checkpoint, proposal_id=proposal_id).order_by(
        "block_number", "log_index"
    )
    return [
        OnchainVote(
            voter=row.voter,
            support=row.support,
            weight=int(row.weight),
            reason=row.reason,
            with_params=row.with_params,
            tx_hash=row.tx_hash,
            block_number=row.block_number,
        )
        for row in rows
    ]


def onchain_proposal(proposal_id: int) -> OnchainProposal | None:
    """The indexed proposal with its lifecycle and tally, or None when no ProposalCreated is indexed for it."""
    checkpoint = _governor_checkpoint()
    created = GovernorProposal.objects.filter(checkpoint=checkpoint, proposal_id=proposal_id).first()
    if created is None:
        return None
    rows = GovernorProposalEvent.objects.filter(checkpoint=checkpoint, proposal_id=proposal_id)
    events = {row.kind: row for row in rows.order_by("block_number", "log_index")}  # the last of each kind wins
    extension = events.get(ProposalEventKind.EXTENDED)
    deadline = max(created.vote_end, extension.extended_deadline or 0) if extension else created.vote_end
    status: ProjectedStatus = "created"
    for kind, name in (
        (ProposalEventKind.QUEUED, "queued"),
        (ProposalEventKind.EXECUTED, "executed"),
        (ProposalEventKind.CANCELED, "canceled"),
    ):
        if kind in events:
            status = name  # type: ignore[assignment]
    queued = events.get(ProposalEventKind.QUEUED)
    return OnchainProposal(
        proposal_id=int(created.proposal_id),
        proposer=created.proposer,
        targets=list(created.targets),
        values=[int(v) for v in created.values],
        calldatas=list(created.calldatas),
        description=created.description,
        vote_start=created.vote_start,
        vote_end=created.vote_end,
        deadline=deadline,
        extended=extension is not None,
        status=status,
        eta=queued.eta if queued is not None else None,
        tally=onchain_tally(proposal_id),
        votes=GovernorVote.objects.filter(checkpoint=checkpoint, proposal_id=proposal_id).count(),
        created_tx=created.tx_hash,
        created_block=created.block_number,
        queued_tx=queued.tx_hash if queued is not None else "",
        executed_tx=events[ProposalEventKind.EXECUTED].tx_hash if ProposalEventKind.EXECUTED in events else "",
        canceled_tx=events[ProposalEventKind.CANCELED].tx_hash if ProposalEventKind.CANCELED in events else "",
    )


def timelock_operations(operation_id: str) -> list[TimelockEvent]:
    """The timelock's indexed events of one operation (scheduled calls, executed calls, cancellation)."""
    checkpoint = _checkpoint(active_deployment(), ContractRole.TIMELOCK)
    return list(
        TimelockEvent.objects.filter(checkpoint=checkpoint, operation_id=operation_id.lower()).order_by(
            "block_number", "log_index"
        )
    )


__all__ = [
    "GovernanceContracts",
    "GovernorNotIndexed",
    "OnchainProposal",
    "OnchainVote",
    "governance_contracts",
    "onchain_proposal",
    "onchain_tally",
    "onchain_votes",
    "timelock_operations",
]
