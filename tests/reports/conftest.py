"""A small protocol with snapshots in yesterday's UTC day and the day before, a funded insurance fund
with a succeeded coverage run, and the report schedules the data migration created."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from insurance.models import CoverageRun, EntryKind, InsuranceFund, RunPurpose, RunStatus
from insurance.services.ledger import ledger_entry_record
from riskgov.markets.models import ExposureSnapshot
from riskgov.markets.services.exposure import exposure_snapshot_take
from riskgov.reports.domain.periods import ReportPeriod, period_last_complete
from riskgov.reports.models import ReportSchedule
from tests.factories import PriceObservationFactory
from tests.markets.views_helpers import BTC_MARK, ETH_MARK, build_hand_made

FUND_DEPOSIT = D("125000")


@dataclass(frozen=True)
class Protocol:
    period: ReportPeriod
    last: list[ExposureSnapshot]
    previous: list[ExposureSnapshot]
    fund: InsuranceFund
    run: CoverageRun


def coverage_metrics(*, coverage_ratio: float, exhaustion: float, fund_balance: float) -> dict:
    def figure(value: float | None) -> dict:
        return {
            "value": value,
            "low": None if value is None else value * 0.9,
            "high": None if value is None else value * 1.1,
        }

    return {
        "summary": {
            "exhaustion_probability": figure(exhaustion),
            "coverage_ratio": figure(coverage_ratio),
            "required_fund": figure(fund_balance * 1.2),
            "mean_bad_debt": figure(1000.0),
            "tail": [
                {
                    "level": 0.99,
                    "expected_shortfall": figure(fund_balance / coverage_ratio),
                    "value_at_risk": figure(fund_balance / coverage_ratio * 0.8),
                }
            ],
            "target_exhaustion_probability": 0.01,
            "confidence": 0.95,
            "fund_balance": fund_balance,
            "paths": 20000,
        }
    }


def coverage_run_succeeded(
    *,
    fund: InsuranceFund,
    finished_at: datetime,
    coverage_ratio: float = 2.5,
    exhaustion: float = 0.002,
    purpose: str = RunPurpose.BASELINE,
) -> CoverageRun:
    return CoverageRun.objects.create(
        label="Daily coverage run",
        purpose=purpose,
        requested_by="test",
        fund=fund,
        fund_balance=FUND_DEPOSIT,
        paths=20000,
        steps=24,
        horizon_days=D("1"),
        impact_coefficient=D("0.5"),
        seed=7,
        chunk_size=5000,
        engine_version="test",
        status=RunStatus.SUCCEEDED,
        finished_at=finished_at,
        metrics=coverage_metrics(
            coverage_ratio=coverage_ratio, exhaustion=exhaustion, fund_balance=float(FUND_DEPOSIT)
        ),
    )


@pytest.fixture
def protocol(db: None) -> Protocol:
    """Positions from the page tests; snapshots at 06:00 and 18:00 yesterday (UTC) and noon the day before."""
    expected = build_hand_made()
    period = period_last_complete("daily", timezone.now())
    for market in {e.position.market for e in expected}:  # marks for the earlier snapshots too
        mark = ETH_MARK if market.symbol == "ETH" else BTC_MARK
        PriceObservationFactory(market=market, price=mark * D("0.95"), observed_at=period.start - timedelta(days=3))
    previous = exposure_snapshot_take(taken_at=period.start - timedelta(hours=12))
    exposure_snapshot_take(taken_at=period.start + timedelta(hours=6))
    last = exposure_snapshot_take(taken_at=period.start + timedelta(hours=18))
    fund = InsuranceFund.objects.create(name="Protocol fund")
    ledger_entry_record(
        fund=fund,
        kind=EntryKind.DEPOSIT,
        amount=FUND_DEPOSIT,
        external_ref="seed-deposit",
        note="initial deposit",
        recorded_by="test",
        occurred_at=period.start - timedelta(days=3),
    )
    run = coverage_run_succeeded(fund=fund, finished_at=period.start + timedelta(hours=2))
    return Protocol(period=period, last=last, previous=previous, fund=fund, run=run)


@pytest.fixture
def daily_schedule(db: None) -> ReportSchedule:
    schedule = ReportSchedule.objects.get(name="Daily protocol report")
    schedule.recipients = "risk@example.org, dao@example.org"
    schedule.save()
    return schedule


@pytest.fixture
def weekly_schedule(db: None) -> ReportSchedule:
    return ReportSchedule.objects.get(name="Weekly market detail")
