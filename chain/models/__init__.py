from chain.models.deployments import (
    ROLE_ARTIFACTS,
    ChainDeployment,
    ContractRole,
    GovernanceMode,
    IndexerCheckpoint,
)
from chain.models.governor import (
    GovernorProposal,
    GovernorProposalEvent,
    GovernorVote,
    ProposalEventKind,
    TimelockEvent,
    TimelockEventKind,
)
from chain.models.indexed import (
    ChainEvent,
    DelegationChange,
    IndexedRow,
    RegistryUpdate,
    TokenSupplyCheckpoint,
    TokenTransfer,
    VotingPowerCheckpoint,
)

__all__ = [
    "ROLE_ARTIFACTS",
    "ChainDeployment",
    "ChainEvent",
    "ContractRole",
    "DelegationChange",
    "GovernanceMode",
    "GovernorProposal",
    "GovernorProposalEvent",
    "GovernorVote",
    "IndexedRow",
    "IndexerCheckpoint",
    "ProposalEventKind",
    "RegistryUpdate",
    "TimelockEvent",
    "TimelockEventKind",
    "TokenSupplyCheckpoint",
    "TokenTransfer",
    "VotingPowerCheckpoint",
]
