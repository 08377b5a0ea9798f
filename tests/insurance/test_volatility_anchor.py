"""The volatility window of a coverage run ends at the newest stored price, not at the clock: two runs of the
same configuration seconds apart freeze the same inputs, and only a new price moves the window."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from insurance.models import CoverageRun
from insurance.services.coverage_runs import coverage_run_create
from riskgov.markets.models import PriceObservation
from tests.insurance.conftest import NOW, build_book

pytestmark = pytest.mark.django_db

NEWEST = NOW - timedelta(minutes=1)  # build_book's last hourly price of each market


def run_at(seconds_after_newest: int) -> CoverageRun:
    at = NEWEST + timedelta(seconds=seconds_after_newest)
    return coverage_run_create(label="anchor", requested_by="test", paths=200, steps=24, seed=5, at=at, enqueue=False)


def test_runs_seconds_apart_freeze_the_same_inputs() -> None:
    build_book()
    # a second price an hour before the newest, between where a clock-anchored window's hours would start
    # for a run at +10 s and one at +20 s: counted in different hours, the two estimates would differ
    for observation in PriceObservation.objects.filter(observed_at=NEWEST - timedelta(hours=1)):
        PriceObservation.objects.create(
            market=observation.market,
            price=observation.price * Decimal("1.01"),
            observed_at=observation.observed_at + timedelta(seconds=15),
            source="test",
        )

    first, second = run_at(10), run_at(20)

    assert first.inputs_sha256 == second.inputs_sha256
    assert first.market_inputs == second.market_inputs
    assert first.market_inputs["window"]["until"] == NEWEST.isoformat()
    assert [m["volatility_source"] for m in first.market_inputs["markets"]] == ["history", "history"]


def test_a_new_price_moves_the_window() -> None:
    build_book()
    before = run_at(10)
    for market_id in {o.market_id for o in PriceObservation.objects.filter(observed_at=NEWEST)}:
        PriceObservation.objects.create(
            market_id=market_id, price=Decimal("1000"), observed_at=NEWEST + timedelta(seconds=30), source="test"
        )

    after = run_at(40)

    assert after.market_inputs["window"]["until"] == (NEWEST + timedelta(seconds=30)).isoformat()
    assert after.inputs_sha256 != before.inputs_sha256
