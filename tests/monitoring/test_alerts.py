"""Alerts: one open per rule and market, resolved when the condition clears, delivered by e-mail and webhook."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core import mail
from django.utils import timezone

from riskgov.core.services.outbox import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_signature_valid
from riskgov.markets.domain.exposure_aggregates import aggregate_exposure
from riskgov.markets.models import PriceObservation
from riskgov.markets.selectors.exposure import open_position_arrays
from riskgov.markets.selectors.markets import market_states
from riskgov.monitoring.models import (
    Alert,
    AlertDelivery,
    AlertDeliveryStatus,
    AlertKind,
    AlertRule,
    AlertState,
    PriceFeed,
)
from riskgov.monitoring.selectors.monitoring import market_risk_figures
from riskgov.monitoring.services.alert_delivery import alert_deliveries_create
from riskgov.monitoring.services.monitoring import alerts_evaluate
from riskgov.monitoring.tasks import deliver_alert
from tests.factories import PositionFactory
from tests.monitoring.conftest import make_market

pytestmark = pytest.mark.django_db
SECRET = "s3cret-key"


def mark(market, price: str, minutes_ago: int = 1, source: str = "test") -> None:
    PriceObservation.objects.create(
        market=market, price=D(price), source=source, observed_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


@pytest.fixture
def market():
    market = make_market("ALRT")
    mark(market, "3000", minutes_ago=10)
    # long 10 @ 3000 with 600 collateral: bankruptcy 2940, liquidation 2940 / 0.99 = 2969.7 (1.0 % away)
    PositionFactory(market=market, size=D("10"), entry_price=D("3000"), collateral=D("600"))
    # short 5 @ 3000 with 3000 collateral: liquidation 3600 / 1.01 = 3564 (19 % away)
    PositionFactory(market=market, size=D("-5"), entry_price=D("3000"), collateral=D("3000"))
    PositionFactory(market=market, size=D("2"), entry_price=D("3000"), collateral=D("600"), status="closed")
    return market


def test_near_liquidation_figures_match_the_exposure_aggregates(market):
    states = market_states()
    risk = market_risk_figures(states)[market.pk]
    arrays, _ = open_position_arrays(states)
    aggregate = aggregate_exposure(arrays)
    assert risk.near_liquidation_notional == pytest.approx(aggregate.near_liquidation["5"]["notional"])
    assert risk.near_liquidation_notional == pytest.approx(30_000)
    assert (risk.oi_long, risk.oi_short) == (pytest.approx(aggregate.oi_long), pytest.approx(aggregate.oi_short))


def test_alerts_are_deduplicated_and_resolve_by_themselves(market):
    rule = AlertRule.objects.create(
        name="Near liquidation",
        kind=AlertKind.NEAR_LIQ_NOTIONAL_ABOVE,
        threshold=D("10000"),
        recipients=["risk@example.org"],
    )
    first = alerts_evaluate()
    second = alerts_evaluate()
    assert len(first.opened) == 1 and second.opened == [] and second.still_open == 1
    alert = Alert.objects.get()
    assert (alert.rule, alert.market, alert.state) == (rule, market, AlertState.OPEN)
    assert alert.evidence["near_liquidation_notional"] == pytest.approx(30_000)
    assert AlertDelivery.objects.filter(alert=alert, event="opened").count() == 1

    mark(market, "3300")  # the long is now 10 % from liquidation
    resolved = alerts_evaluate()
    assert resolved.resolved == [alert.pk]
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.resolved_at is not None
    assert alerts_evaluate().resolved == []
    assert AlertDelivery.objects.filter(alert=alert, event="resolved").count() == 1

    mark(market, "2980", minutes_ago=0)  # back near liquidation: a new alert opens
    assert len(alerts_evaluate().opened) == 1
    assert Alert.objects.filter(rule=rule, state=AlertState.OPEN).count() == 1


def test_disabled_rule_resolves_its_alerts(market):
    rule = AlertRule.objects.create(
        name="OI", kind=AlertKind.OI_SHARE_OF_CAP_ABOVE, threshold=D("0.0001"), market=market
    )
    assert len(alerts_evaluate().opened) == 1
    AlertRule.objects.filter(pk=rule.pk).update(enabled=False)
    assert len(alerts_evaluate().resolved) == 1


def test_stale_oracle_feed_opens_an_alert(market):
    PriceFeed.objects.create(market=market, name="Chainlink", source="test", heartbeat_seconds=3600)
    PriceFeed.objects.create(market=market, name="Pyth", source="pyth", heartbeat_seconds=60)
    mark(market, "3001", minutes_ago=5, source="pyth")
    AlertRule.objects.create(name="Oracle", kind=AlertKind.ORACLE_STALE_OR_DEVIATING, threshold=D("0"))
    alerts_evaluate()
    alert = Alert.objects.get()
    assert "Pyth stale" in alert.summary
    assert [f["status"] for f in alert.evidence["feeds"]] == ["ok", "stale"]


def test_email_delivery_goes_through_django_mail(market):
    AlertRule.objects.create(
        name="Near liquidation",
        kind=AlertKind.NEAR_LIQ_NOTIONAL_ABOVE,
        threshold=D("1"),
        recipients=["risk@example.org", "ops@example.org"],
    )
    alerts_evaluate()
    for delivery in AlertDelivery.objects.all():
        deliver_alert.apply(kwargs={"delivery_id": delivery.pk}).get()
        deliver_alert.apply(kwargs={"delivery_id": delivery.pk}).get()  # a duplicate sends nothing
    assert sorted(m.to[0] for m in mail.outbox) == ["ops@example.org", "risk@example.org"]
    assert "[RiskGov] Alert: ALRT-USD" in mail.outbox[0].subject
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {AlertDeliveryStatus.SENT}


def webhook_alert(market, url: str) -> AlertDelivery:
    rule = AlertRule.objects.create(
        name="Near liquidation",
        kind=AlertKind.NEAR_LIQ_NOTIONAL_ABOVE,
        threshold=D("1"),
        webhook_urls=[url],
        webhook_secret=SECRET,
    )
    alerts_evaluate()
    return AlertDelivery.objects.get(alert__rule=rule)


def test_webhook_signature_is_verifiable_by_the_receiver(market, receiver):
    hook = receiver([])
    delivery = webhook_alert(market, hook.url)
    deliver_alert.apply(kwargs={"delivery_id": delivery.pk}).get()
    [(headers, body)] = hook.requests
    assert headers[SIGNATURE_HEADER.lower()].startswith("sha256=")
    assert webhook_signature_valid(
        secret=SECRET,
        timestamp=headers[TIMESTAMP_HEADER.lower()],
        body=body,
        signature=headers[SIGNATURE_HEADER.lower()],
    )
    assert not webhook_signature_valid(
        secret="wrong",
        timestamp=headers[TIMESTAMP_HEADER.lower()],
        body=body,
        signature=headers[SIGNATURE_HEADER.lower()],
    )
    assert not webhook_signature_valid(
        secret=SECRET,
        timestamp=headers[TIMESTAMP_HEADER.lower()],
        body=body + b" ",
        signature=headers[SIGNATURE_HEADER.lower()],
    )
    old = str(int(headers[TIMESTAMP_HEADER.lower()]) - 3600)  # a replayed body under an old timestamp
    signature = headers[SIGNATURE_HEADER.lower()]
    assert not webhook_signature_valid(secret=SECRET, timestamp=old, body=body, signature=signature)
    payload = json.loads(body)
    assert payload["event"] == "alert.opened" and payload["alert"]["market"] == "ALRT"
    assert headers[DELIVERY_HEADER.lower()] == str(delivery.pk)


def test_failed_webhook_is_retried_and_each_attempt_recorded(market, receiver):
    hook = receiver([500, 429])
    delivery = webhook_alert(market, hook.url)
    deliver_alert.apply(kwargs={"delivery_id": delivery.pk}).get()  # eager: the retries run in place
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (AlertDeliveryStatus.SENT, 3, 200)
    assert len(hook.requests) == 3
    assert len({h[DELIVERY_HEADER.lower()] for h, _ in hook.requests}) == 1


def test_client_error_fails_at_once_and_a_recreated_delivery_is_not_duplicated(market, receiver):
    hook = receiver([404])
    delivery = webhook_alert(market, hook.url)
    deliver_alert.apply(kwargs={"delivery_id": delivery.pk}).get()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (AlertDeliveryStatus.FAILED, 1, 404)
    alert_deliveries_create(alert=delivery.alert, event="opened")
    assert AlertDelivery.objects.filter(alert=delivery.alert).count() == 1


def test_coverage_and_exhaustion_rules_read_the_latest_coverage_run(db, settings):
    from insurance.models import CoverageRun

    def run(ratio: float, exhaustion: float, minutes_ago: int) -> None:
        CoverageRun.objects.create(
            label="nightly",
            purpose="baseline",
            requested_by="beat",
            fund_balance=D("1000000"),
            paths=1000,
            steps=24,
            horizon_days=D("1"),
            impact_coefficient=D("0.5"),
            seed=1,
            chunk_size=500,
            engine_version="test",
            status="succeeded",
            finished_at=timezone.now() - timedelta(minutes=minutes_ago),
            metrics={"summary": {"coverage_ratio": {"value": ratio}, "exhaustion_probability": {"value": exhaustion}}},
        )

    AlertRule.objects.create(name="Coverage", kind=AlertKind.COVERAGE_RATIO_BELOW, threshold=D("1.5"))
    AlertRule.objects.create(name="Exhaustion", kind=AlertKind.EXHAUSTION_ABOVE, threshold=D("0.01"))
    assert alerts_evaluate().evaluated == 0  # no run yet: nothing known, nothing opened
    run(1.2, 0.002, minutes_ago=30)
    alerts_evaluate()
    [alert] = Alert.objects.filter(state=AlertState.OPEN)
    assert alert.rule.kind == AlertKind.COVERAGE_RATIO_BELOW and alert.market is None
    assert "coverage ratio 1.20" in alert.summary
    run(2.5, 0.03, minutes_ago=1)
    sweep = alerts_evaluate()
    assert sweep.resolved == [alert.pk] and len(sweep.opened) == 1
    assert Alert.objects.get(state=AlertState.OPEN).rule.kind == AlertKind.EXHAUSTION_ABOVE


def test_indexer_lag_rule_watches_the_most_lagging_checkpoint(db):
    from chain.models import ChainDeployment, IndexerCheckpoint

    deployment = ChainDeployment.objects.create(
        chain_id=31337,
        genesis_hash="0x" + "0" * 64,
        gov_token="0x1",
        registry="0x2",
        perp_market="0x3",
        deployment_block=1,
    )
    for role, minutes in (("gov_token", 1), ("perp_market", 30)):
        IndexerCheckpoint.objects.create(
            deployment=deployment,
            role=role,
            address=f"0x{role}",
            block_number=10,
            last_success_at=timezone.now() - timedelta(minutes=minutes),
        )
    AlertRule.objects.create(name="Indexer", kind=AlertKind.INDEXER_LAG_ABOVE, threshold=D("600"))
    alerts_evaluate()
    alert = Alert.objects.get(state=AlertState.OPEN)
    assert alert.evidence["seconds"] == pytest.approx(1800, abs=5) and "perp_market" in alert.evidence["checkpoint"]
    IndexerCheckpoint.objects.filter(role="perp_market").update(last_success_at=timezone.now())
    assert len(alerts_evaluate().resolved) == 1
