from riskgov.models.accounts import Account, checksum_address, validate_address
from riskgov.models.audit import AuditRecord
from riskgov.models.exposure import PROTOCOL_SCOPE, ExposureSnapshot
from riskgov.models.governance import (
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
from riskgov.models.markets import Market
from riskgov.models.monitoring import (
    Alert,
    AlertDelivery,
    AlertDeliveryChannel,
    AlertDeliveryEvent,
    AlertDeliveryStatus,
    AlertKind,
    AlertRule,
    AlertState,
    MarginRecommendation,
    PriceFeed,
    RecommendationStatus,
)
from riskgov.models.parameters import (
    PARAMETER_FIELDS,
    ChangeSource,
    MarginParameters,
    ParameterRule,
)
from riskgov.models.policy import POLICY_FIELDS, MarginPolicy, PolicyKind
from riskgov.models.positions import Position, PositionStatus
from riskgov.models.prices import PriceObservation
from riskgov.models.reports import (
    DeliveryStatus,
    ExposureReport,
    ReportCadence,
    ReportDelivery,
    ReportKind,
    ReportSchedule,
    ReportSubscription,
)

__all__ = [
    "PARAMETER_FIELDS",
    "POLICY_FIELDS",
    "PROTOCOL_SCOPE",
    "Account",
    "Alert",
    "AlertDelivery",
    "AlertDeliveryChannel",
    "AlertDeliveryEvent",
    "AlertDeliveryStatus",
    "AlertKind",
    "AlertRule",
    "AlertState",
    "AuditRecord",
    "ChangeSource",
    "DeliveryStatus",
    "ExposureReport",
    "ExposureSnapshot",
    "GovernanceSettings",
    "MarginParameters",
    "MarginPolicy",
    "MarginRecommendation",
    "Market",
    "ParameterChange",
    "ParameterRule",
    "PolicyKind",
    "Position",
    "PositionStatus",
    "PriceFeed",
    "PriceObservation",
    "Proposal",
    "ProposalExecution",
    "ProposalState",
    "RecommendationStatus",
    "ReportCadence",
    "ReportDelivery",
    "ReportKind",
    "ReportSchedule",
    "ReportSubscription",
    "SiweNonce",
    "StaffAddress",
    "Vote",
    "VoteSupportChoice",
    "checksum_address",
    "validate_address",
]
