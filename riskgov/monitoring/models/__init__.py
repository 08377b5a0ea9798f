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
    "MARKET_KINDS",
    "POLICY_FIELDS",
    "Alert",
    "AlertDelivery",
    "AlertDeliveryChannel",
    "AlertDeliveryEvent",
    "AlertDeliveryStatus",
    "AlertKind",
    "AlertRule",
    "AlertState",
    "MarginPolicy",
    "MarginPolicyQuerySet",
    "MarginRecommendation",
    "PolicyKind",
    "PriceFeed",
    "RecommendationStatus",
]
