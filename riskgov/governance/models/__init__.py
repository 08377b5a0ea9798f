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
    "GovernanceSettings",
    "ParameterChange",
    "Proposal",
    "ProposalExecution",
    "ProposalState",
    "SiweNonce",
    "StaffAddress",
    "Vote",
    "VoteSupportChoice",
]
