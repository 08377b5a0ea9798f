"""A failing snapshot is recorded and shown: pages say "as of <time>, snapshot failing since <time>"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from riskgov.markets.models import ExposureSnapshot, Position
from riskgov.markets.selectors.exposure import snapshot_health
from riskgov.markets.services.exposure import SnapshotError
from riskgov.markets.tasks import exposure_snapshot
from tests.factories import AccountFactory
from tests.markets.views_helpers import build_markets

pytestmark = pytest.mark.django_db


def huge_position(market) -> Position:
    """Written past the import (which refuses it): 1e18 base units at a 60,000 mark overflow the snapshot."""
    return Position.objects.create(
        external_id="huge",
        account=AccountFactory(),
        market=market,
        size=D("1e18"),
        entry_price=D("60000"),
        collateral=D("1"),
        opened_at=datetime(2024, 1, 1, tzinfo=UTC),
    )


def test_a_failing_snapshot_is_recorded_and_every_snapshot_page_says_so(client):
    _, btc = build_markets()
    exposure_snapshot()
    good = snapshot_health()
    assert good.failing_since is None and good.last_success_at is not None and good.last_error == ""
    last_good = ExposureSnapshot.objects.get(scope="ALL")
    huge = huge_position(btc)

    with pytest.raises(SnapshotError, match="beyond what a snapshot stores"):
        exposure_snapshot()
    first = snapshot_health()
    with time_machine.travel(timezone.now() + timedelta(minutes=5)), pytest.raises(SnapshotError):
        exposure_snapshot()

    health = snapshot_health()
    assert health.failing_since == first.failing_since  # failing since the first failure
    assert health.last_success_at == good.last_success_at
    assert "oi_long" in health.last_error
    assert list(ExposureSnapshot.objects.filter(scope="ALL")) == [last_good]  # nothing half-written
    since = timezone.localtime(health.failing_since, UTC).strftime("%Y-%m-%d %H:%M")
    as_of = last_good.taken_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    for url in (reverse("riskgov:dashboard"), reverse("riskgov:market-detail", args=["BTC"])):
        body = client.get(url).content.decode()
        assert f"as of {as_of} UTC, snapshot failing since {since} UTC" in body, url

    huge.delete()
    exposure_snapshot()
    assert snapshot_health().failing_since is None
    assert "snapshot failing" not in client.get(reverse("riskgov:dashboard")).content.decode()


def test_health_before_any_snapshot_is_empty(client):
    assert tuple(snapshot_health()) == (None, None, "")
    assert "snapshot failing" not in client.get(reverse("riskgov:dashboard")).content.decode()
