"""Demo margin policies, oracle feeds and alert rules, so the Risk pages show the protocol at work."""

from __future__ import annotations

from decimal import Decimal as D

from django.db import transaction

from chain.deploy import DEFAULT_MARKETS
from riskgov.core.models.versions import ChangeSource
from riskgov.demo.services.markets import DEMO_ACTOR, DEMO_SYMBOLS, PRICE_SOURCE
from riskgov.markets.models import Market
from riskgov.monitoring.models import AlertKind, AlertRule, MarginPolicy, PriceFeed
from riskgov.monitoring.services.margin_policy import margin_policy_change
from riskgov.monitoring.services.monitoring import alerts_evaluate
from riskgov.monitoring.services.recommender import margin_recommend_all

CHAIN_SYMBOLS = frozenset(spec.symbol for spec in DEFAULT_MARKETS)  # markets the demo chain lists
# Policies applied automatically (inside steward bounds) in the demo; the rest only recommend.
AUTOMATIC = ("BTC", "ETH")
# (kind, threshold, name); rules without a market cover every market.
DEMO_RULES = (
    (AlertKind.COVERAGE_RATIO_BELOW, D("1.5"), "Coverage ratio below 1.5"),
    (AlertKind.EXHAUSTION_ABOVE, D("0.01"), "P(fund exhausted) above 1 %"),
    (AlertKind.NEAR_LIQ_NOTIONAL_ABOVE, D("5000000"), "Over $5M within 5 % of liquidation"),
    (AlertKind.OI_SHARE_OF_CAP_ABOVE, D("0.9"), "Open interest above 90 % of cap"),
    (AlertKind.VOLATILITY_JUMP, D("2"), "Volatility doubled (24 h vs 30 d)"),
    (AlertKind.ORACLE_STALE_OR_DEVIATING, D("1"), "Oracle: more than one feed stale or deviating"),
    (AlertKind.INDEXER_LAG_ABOVE, D("300"), "Chain indexer more than 5 minutes behind"),
    (AlertKind.SNAPSHOT_FAILING, D("15"), "Exposure snapshot failing or older than 15 minutes"),
    (AlertKind.AUTOMATIC_PARAMETER_CHANGE, D("1"), "A margin policy changed parameters in the last hour"),
)


def demo_risk_seed() -> bool:
    """Genesis policies (MMR covers the 1 h move at 99 % two-sided, IMR floor 80 % of today's IMR), a feed per
    market for
    the imported history plus the local chain's oracle where the demo chain lists the market, and the
    default alert rules; then one recommender pass and one alert sweep. Returns False, changing
    nothing, when the demo markets already have policies."""
    markets = list(Market.objects.filter(symbol__in=DEMO_SYMBOLS).prefetch_related("parameter_versions"))
    if not markets or MarginPolicy.objects.filter(market__in=markets).exists():
        return False
    with transaction.atomic():
        for market in markets:
            current = max(market.parameter_versions.all(), key=lambda version: version.version)
            floor = (current.imr * D("0.8")).quantize(D("0.0001"))
            margin_policy_change(
                market=market,
                source=ChangeSource.GENESIS,
                actor=DEMO_ACTOR,
                reason="Demo policy: the MMR covers the 1 h move at 99 % (EWMA volatility); IMR = MMR / 0.5",
                changes={
                    "coefficient_a": D("1"),
                    "horizon_hours": 1,
                    "imr_floor": floor,
                    "imr_cap": D("0.25"),
                    "mmr_ratio": D("0.5"),
                    "automatic": market.symbol in AUTOMATIC,
                },
            )
            PriceFeed.objects.get_or_create(
                market=market,
                source=PRICE_SOURCE,
                defaults={"name": "History import", "heartbeat_seconds": 2 * 3600, "deviation_threshold": D("0.02")},
            )
            chain_symbol = f"{market.symbol}-{market.quote_asset}"
            if chain_symbol in CHAIN_SYMBOLS:
                # the local chain's keeper pushes a price a minute; the indexer stores it under this source
                PriceFeed.objects.get_or_create(
                    market=market,
                    source=f"chain:{chain_symbol}",
                    defaults={"name": "Chain oracle", "heartbeat_seconds": 300, "deviation_threshold": D("0.02")},
                )
        for kind, threshold, name in DEMO_RULES:
            AlertRule.objects.get_or_create(kind=kind, market=None, defaults={"name": name, "threshold": threshold})
    margin_recommend_all()
    alerts_evaluate()
    return True
