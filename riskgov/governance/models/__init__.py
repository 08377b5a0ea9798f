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

__all__ = [
    "WEI_DIGITS",
    "DelegateStatement",
    "DelegationRelay",
    "GovernanceSettings",
    "ImpactPreview",
    "NotificationDelivery",
    "NotificationEvent",
    "NotificationSubscriber",
    "ParameterChange",
    "Proposal",
    "ProposalExecution",
    "ProposalState",
    "RelayStatus",
    "SiweNonce",
    "StaffAddress",
    "SubscriberChannel",
    "Vote",
    "VoteSupportChoice",
    "VoterNonce",
]
