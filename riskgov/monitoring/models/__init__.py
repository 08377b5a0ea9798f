from riskgov.monitoring.models.backtest import BacktestStatus, CoverageBacktest
from riskgov.monitoring.models.monitoring import (
    MARKET_KINDS,
    Alert,
    AlertDelivery,
    AlertDeliveryChannel,
    AlertDeliveryEvent,
    AlertDeliveryStatus,
    AlertKind,
    AlertRule,
    AlertSeverity,
    AlertState,
    MarginRecommendation,
    PriceFeed,
    RecommendationStatus,
)
from riskgov.monitoring.models.policy import POLICY_FIELDS, MarginPolicy, MarginPolicyQuerySet, PolicyKind

__all__ = [
    "MARKET_KINDS",
    "POLICY_FIELDS",
    "Alert",
    "AlertDelivery",
    "AlertDeliveryChannel",
    "AlertDeliveryEvent",
    "AlertDeliveryStatus",
    "AlertKind",
    "AlertRule",
    "AlertSeverity",
    "AlertState",
    "BacktestStatus",
    "CoverageBacktest",
    "MarginPolicy",
    "MarginPolicyQuerySet",
    "MarginRecommendation",
    "PolicyKind",
    "PriceFeed",
    "RecommendationStatus",
]
