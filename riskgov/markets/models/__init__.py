from riskgov.markets.models.accounts import Account, checksum_address, validate_address
from riskgov.markets.models.exposure import PROTOCOL_SCOPE, ExposureSnapshot, SnapshotHealth
from riskgov.markets.models.imports import ImportJob, ImportJobStatus
from riskgov.markets.models.liquidations import Liquidation, LiquidationSource, liquidation_notional
from riskgov.markets.models.markets import LossWaterfall, Market
from riskgov.markets.models.parameters import (
    PARAMETER_FIELDS,
    MarginParameters,
    MarginParametersQuerySet,
    ParameterRule,
)
from riskgov.markets.models.positions import Position, PositionStatus
from riskgov.markets.models.prices import PriceObservation
from riskgov.markets.models.risk_budget import ChangeRequestStatus, ParameterChangeRequest, RiskBudget

__all__ = [
    "PARAMETER_FIELDS",
    "PROTOCOL_SCOPE",
    "Account",
    "ChangeRequestStatus",
    "ExposureSnapshot",
    "ImportJob",
    "ImportJobStatus",
    "Liquidation",
    "LiquidationSource",
    "LossWaterfall",
    "MarginParameters",
    "MarginParametersQuerySet",
    "Market",
    "ParameterChangeRequest",
    "ParameterRule",
    "Position",
    "PositionStatus",
    "PriceObservation",
    "RiskBudget",
    "SnapshotHealth",
    "checksum_address",
    "liquidation_notional",
    "validate_address",
]
