from riskgov.monitoring.models.monitoring import (
    MARKET_KINDS,
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
from riskgov.monitoring.models.policy import POLICY_FIELDS, MarginPolicy, MarginPolicyQuerySet, PolicyKind

__all__ = [
    "Alert",
    "AlertDelivery",
    "AlertDeliveryChannel",
    "AlertDeliveryEvent",
    "AlertDeliveryStatus",
    "AlertKind",
    "AlertRule",
    "AlertState",
    "MARKET_KINDS",
    "MarginPolicy",
    "MarginPolicyQuerySet",
    "MarginRecommendation",
    "POLICY_FIELDS",
    "PolicyKind",
    "PriceFeed",
    "RecommendationStatus",
]
