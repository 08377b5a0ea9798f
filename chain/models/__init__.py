from chain.models.deployments import ROLE_ARTIFACTS, ChainDeployment, ContractRole, IndexerCheckpoint
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
    "IndexedRow",
    "IndexerCheckpoint",
    "RegistryUpdate",
    "TokenSupplyCheckpoint",
    "TokenTransfer",
    "VotingPowerCheckpoint",
]
