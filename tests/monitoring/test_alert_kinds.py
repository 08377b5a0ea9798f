"""A failing or stale exposure snapshot, and each margin change a policy applies itself, reach the alert channels."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.utils import timezone

from riskgov.markets.services.exposure import SnapshotError
from riskgov.markets.tasks import exposure_snapshot
from riskgov.monitoring.models import Alert, AlertDelivery, AlertKind, AlertRule, AlertSeverity, AlertState
from riskgov.monitoring.services.monitoring import alerts_evaluate
from riskgov.monitoring.tasks import recommend_margins
from tests.markets.test_snapshot_health import huge_position
from tests.markets.views_helpers import build_markets
from tests.monitoring.conftest import add_hourly_prices

pytestmark = pytest.mark.django_db


def snapshot_rule() -> AlertRule:
    return AlertRule.objects.create(
        name="snapshots", kind=AlertKind.SNAPSHOT_FAILING, threshold=D("15"), recipients=["risk@example.org"]
    )


def test_a_failing_snapshot_opens_a_critical_alert_and_a_good_one_resolves_it():
    _, btc = build_markets()
    rule = snapshot_rule()
    exposure_snapshot()
    alerts_evaluate()
    assert not Alert.objects.filter(rule=rule).exists()

    huge = huge_position(btc)
    with pytest.raises(SnapshotError):
        exposure_snapshot()
    alerts_evaluate()
    alert = Alert.objects.get(rule=rule, state=AlertState.OPEN)
    assert alert.severity == AlertSeverity.CRITICAL
    assert "Exposure snapshots failing since" in alert.summary and "oi_long" in alert.summary
    assert AlertDelivery.objects.filter(alert=alert, event="opened", target="risk@example.org").exists()

    huge.delete()
    exposure_snapshot()
    alerts_evaluate()
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


def test_a_snapshot_older_than_the_threshold_opens_an_alert():
    build_markets()
    rule = snapshot_rule()
    exposure_snapshot()
    with time_machine.travel(timezone.now() + timedelta(minutes=14)):
        alerts_evaluate()
    assert not Alert.objects.filter(rule=rule).exists()
    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        alerts_evaluate()
    alert = Alert.objects.get(rule=rule, state=AlertState.OPEN)
    assert alert.summary.startswith("No exposure snapshot for 20 min")


def test_no_snapshot_run_yet_is_no_evidence():
    snapshot_rule()
    alerts_evaluate()
    assert not Alert.objects.exists()


def test_an_automatic_margin_change_is_announced_once_and_the_alert_closes_after_its_window(auto_market):
    rule = AlertRule.objects.create(
        name="automatic changes",
        kind=AlertKind.AUTOMATIC_PARAMETER_CHANGE,
        threshold=D("1"),
        recipients=["dao@example.org"],
    )
    add_hourly_prices(auto_market, sigma_hourly=0.0016)  # the policy tightens inside the steward bounds
    alerts_evaluate()
    assert not Alert.objects.filter(rule=rule).exists()

    assert len(recommend_margins.apply().get()) == 1
    alerts_evaluate()
    alerts_evaluate()  # the same change is not announced twice
    alert = Alert.objects.get(rule=rule, market=auto_market, state=AlertState.OPEN)
    assert alert.severity == AlertSeverity.INFO
    assert "margin policy applied v2 tighten" in alert.summary
    assert AlertDelivery.objects.filter(alert=alert, event="opened").count() == 1

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        alerts_evaluate()
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
