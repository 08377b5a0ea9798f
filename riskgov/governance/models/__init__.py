from riskgov.governance.models.delegation import DelegateStatement, DelegationRelay, RelayStatus
from riskgov.governance.models.governance import (
    WEI_DIGITS,
    GovernanceSettings,
    ParameterChange,
    Proposal,
    ProposalExecution,
    ProposalState,
    SiweNonce,
    StaffAddress,
    Vote,
    VoteSupportChoice,
)

__all__ = [
    "WEI_DIGITS",
    "DelegateStatement",
    "DelegationRelay",
    "GovernanceSettings",
    "ParameterChange",
    "Proposal",
    "ProposalExecution",
    "ProposalState",
    "RelayStatus",
    "SiweNonce",
    "StaffAddress",
    "Vote",
    "VoteSupportChoice",
]
