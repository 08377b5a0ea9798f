"""A small protocol for the API tests: the hand-made positions of the page tests, two snapshot sets, alerts
(one open, one resolved), a daily report, and users with and without the alert permission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission as AuthPermission
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from riskgov.core.models import Permission
from riskgov.markets.models import ExposureSnapshot
from riskgov.markets.services.exposure import exposure_snapshot_take
from riskgov.monitoring.models import Alert, AlertKind, AlertRule, AlertState
from riskgov.reports.domain.periods import period_last_complete
from riskgov.reports.models import ExposureReport, ReportSchedule
from riskgov.reports.services.reports import exposure_report_generate
from tests.governance.conftest import chain  # noqa: F401  (voting power without a node, as in the governance tests)
from tests.markets.views_helpers import Expected, build_hand_made

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class ApiProtocol:
    expected: list[Expected]
    earlier: list[ExposureSnapshot]
    latest: list[ExposureSnapshot]
    open_alert: Alert
    resolved_alert: Alert
    report: ExposureReport


def protocol_build() -> ApiProtocol:
    expected = build_hand_made()
    period = period_last_complete("daily", timezone.now())
    earlier = exposure_snapshot_take(taken_at=period.start + timedelta(hours=6))
    latest = exposure_snapshot_take(taken_at=timezone.now() - timedelta(minutes=1))
    rule = AlertRule.objects.create(name="Near liquidation", kind=AlertKind.NEAR_LIQ_NOTIONAL_ABOVE, threshold=1000)
    eth = expected[0].position.market
    now = timezone.now()
    open_alert = Alert.objects.create(
        rule=rule, market=eth, opened_at=now - timedelta(hours=1), last_seen_at=now, summary="ETH near liquidation"
    )
    resolved_alert = Alert.objects.create(
        rule=rule,
        market=None,
        state=AlertState.RESOLVED,
        opened_at=now - timedelta(days=2),
        resolved_at=now - timedelta(days=1),
        last_seen_at=now - timedelta(days=1),
        summary="Protocol coverage low",
    )
    schedule = ReportSchedule.objects.get(name="Daily protocol report")
    report = exposure_report_generate(schedule=schedule, period=period, requested_by="test").report
    return ApiProtocol(expected, earlier, latest, open_alert, resolved_alert, report)


@pytest.fixture
def api_protocol(db: None) -> ApiProtocol:
    return protocol_build()


def user_with(username: str, *permissions: Permission) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD)
    for permission in permissions:
        user.user_permissions.add(AuthPermission.objects.get(content_type__app_label="core", codename=permission.value))
    return user


@pytest.fixture
def responder(db: None) -> User:
    """A user allowed to acknowledge, snooze and resolve alerts."""
    return user_with("responder", Permission.ACKNOWLEDGE_ALERT)


@pytest.fixture
def plain_user(db: None) -> User:
    return user_with("plain")


def token_client(user: User) -> Client:
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")
