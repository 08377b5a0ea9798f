from riskgov.governance.models.delegation import DelegateStatement, DelegationRelay, RelayStatus
from riskgov.governance.models.governance import (
    WEI_DIGITS,
    GovernanceMode,
    GovernanceSettings,
    ParameterChange,
    Proposal,
    ProposalExecution,
    ProposalState,
    SiweNonce,
    StaffAddress,
    Vote,
    VoterNonce,
    VoteSupportChoice,
)
from riskgov.governance.models.impact_preview import ImpactPreview
from riskgov.governance.models.notifications import (
    NotificationDelivery,
    NotificationEvent,
    NotificationSubscriber,
    SubscriberChannel,
)
from riskgov.governance.models.onchain import RELAY_FINAL_STATUSES, VoteRelay, VoteRelayStatus
from riskgov.governance.models.risk_budget import ProposalChangeRequest

__all__ = [
    "RELAY_FINAL_STATUSES",
    "WEI_DIGITS",
    "DelegateStatement",
    "DelegationRelay",
    "GovernanceMode",
    "GovernanceSettings",
    "ImpactPreview",
    "NotificationDelivery",
    "NotificationEvent",
    "NotificationSubscriber",
    "ParameterChange",
    "Proposal",
    "ProposalChangeRequest",
    "ProposalExecution",
    "ProposalState",
    "RelayStatus",
    "SiweNonce",
    "StaffAddress",
    "SubscriberChannel",
    "Vote",
    "VoteRelay",
    "VoteRelayStatus",
    "VoteSupportChoice",
    "VoterNonce",
]
