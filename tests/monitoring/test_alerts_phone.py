"""The alerts page and the banner on a phone (390×844 in Chromium): nothing wider than the screen.

Screenshots go to test-artifacts/monitoring/.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from django.conf import settings

from riskgov.monitoring.models import Alert, AlertKind, AlertRule, AlertSeverity
from riskgov.monitoring.services.alert_actions import alert_acknowledge
from riskgov.monitoring.services.monitoring import alerts_evaluate
from tests.conftest import REPO_ROOT, chromium_page
from tests.factories import PositionFactory
from tests.monitoring.conftest import make_market
from tests.monitoring.test_alerts import mark

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "monitoring"
PHONE = {"width": 390, "height": 844}
# how far the page reaches past the screen's right edge (0 when nothing is wider than the viewport)
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def phone_page() -> Iterator[Any]:
    with chromium_page(ARTIFACTS, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True) as page:
        yield page


@pytest.fixture
def open_alerts_of_each_severity() -> None:
    market = make_market("PHONE")
    mark(market, "3000")
    PositionFactory(market=market, size=D("10"), entry_price=D("3000"), collateral=D("600"))
    for severity in AlertSeverity:
        AlertRule.objects.create(
            name=f"Open interest above a very small share of the cap ({severity.label.lower()})",
            kind=AlertKind.OI_SHARE_OF_CAP_ABOVE,
            threshold=D("0.0001"),
            severity=severity,
        )
    AlertRule.objects.create(name="Near liquidation", kind=AlertKind.NEAR_LIQ_NOTIONAL_ABOVE, threshold=D("1"))
    alerts_evaluate()
    alert = Alert.objects.filter(severity=AlertSeverity.CRITICAL).first()
    assert alert is not None
    alert_acknowledge(alert_id=alert.pk, actor="risk-admin", reason="Checking the largest account with the desk")


def test_alerts_page_and_banner_fit_a_phone(client, admin_user, live_server, phone_page, open_alerts_of_each_severity):
    client.force_login(admin_user)
    page = phone_page
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page.goto(f"{live_server.url}/")
    page.wait_for_selector(".alert-banner")
    assert "+2 more" in page.inner_text(".alert-banner")
    assert page.evaluate(OVERFLOW) == 0
    page.screenshot(path=str(ARTIFACTS / "dashboard-banner-390.png"))

    page.goto(f"{live_server.url}/risk/alerts/")
    page.wait_for_selector(".alert-banner")
    assert page.evaluate(OVERFLOW) == 0
    page.screenshot(path=str(ARTIFACTS / "alerts-390.png"), full_page=True)

    page.click(".alert-actions summary >> nth=0")  # the action forms, opened
    assert page.evaluate(OVERFLOW) == 0
    page.screenshot(path=str(ARTIFACTS / "alerts-actions-390.png"), full_page=True)
