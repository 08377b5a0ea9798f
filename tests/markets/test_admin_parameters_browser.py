"""The admin's change-parameters page in Chromium at 1440 px: nothing wider than the screen, each field's steward
range beside it, flagged as soon as a typed value leaves it. Screenshots go to test-artifacts/markets/."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from riskgov.core.models.versions import ChangeSource
from riskgov.markets.models import MarginParameters, Market
from riskgov.markets.services.parameters import margin_parameters_change
from tests.conftest import REPO_ROOT, chromium_page
from tests.factories import MarketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "markets"
DESKTOP = {"width": 1440, "height": 900}
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _market_with_history() -> Market:
    """ETH-USD with a genesis and five steward versions, each with a long reason, as a busy market has."""
    market = MarketFactory(symbol="ETH")
    start = timezone.now() - timedelta(days=60)
    with time_machine.travel(start):
        margin_parameters_change(
            market=market,
            changes={"imr": D("0.05"), "mmr": D("0.03"), "max_leverage": D("15"), "liquidation_penalty": D("0.01"),
                     "insurance_fee_share": D("0.2"), "oi_cap": D("250000000")},
            source=ChangeSource.GENESIS, reason="launch", actor="deployer",
        )  # fmt: skip
    for step in range(1, 6):
        with time_machine.travel(start + timedelta(days=7 * step)):
            margin_parameters_change(
                market=market,
                changes={"mmr": D("0.03") + D("0.001") * step, "imr": D("0.05") + D("0.001") * step},
                source=ChangeSource.ADMIN,
                reason="Volatility rose after the funding-rate spike; margins follow the desk's weekly review "
                "of the liquidation map and the insurance fund's coverage ratio",
                actor="risk-steward@example.org",
            )
    return market


def test_change_parameters_page_fits_1440_and_shows_each_steward_limit(client, admin_user, live_server):
    market = _market_with_history()
    current = MarginParameters.objects.filter(market=market).latest("version")
    client.force_login(admin_user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    with chromium_page(ARTIFACTS, viewport=DESKTOP) as page:
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        page.goto(f"{live_server.url}{reverse('admin:markets_marginparameters_add')}?market={market.pk}")
        page.wait_for_selector("table.parameter-history")

        assert page.evaluate(OVERFLOW) == 0
        assert len(page.query_selector_all("table.parameter-history tbody tr")) == 6
        mmr_limit = page.locator('.steward-limit[data-field="mmr"]')
        assert "allowed now" in mmr_limit.inner_text() and "per update" in mmr_limit.inner_text()
        assert page.locator(".steward-limit").count() == 8  # every parameter field, not the reason
        assert "steward-limit-broken" not in (mmr_limit.get_attribute("class") or "")
        page.screenshot(path=str(ARTIFACTS / "change-parameters-1440.png"), full_page=True)

        page.fill("#id_mmr", str(current.mmr * 2))  # far beyond the steward's change per update
        assert "steward-limit-broken" in (mmr_limit.get_attribute("class") or "")
        page.fill("#id_mmr", str(current.mmr))
        assert "steward-limit-broken" not in (mmr_limit.get_attribute("class") or "")
        assert errors == []
