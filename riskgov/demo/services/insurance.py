"""Demo insurance fund: a ledger history and a first coverage run, deterministic for a seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from insurance.models import CoverageRun, EntryKind, InsuranceFund, RunPurpose, RunStatus
from insurance.services.coverage_execution import coverage_run_execute_inline
from insurance.services.coverage_runs import coverage_run_create
from insurance.services.ledger import insurance_fund_create, ledger_entry_record
from riskgov.demo.services.markets import DemoError
from riskgov.markets.models import Liquidation

DEMO_FUND_NAME = "Protocol insurance fund"
DEMO_ACTOR = "seed_demo"
DAYS_PER_MONTH = 30
TOP_UP_DAY_OF_MONTH = 15  # the DAO tops the fund up once a month, mid-month
BAD_DEBT_DAY_PROBABILITY = 0.04  # without a liquidation history: the chance that a day brings a bad-debt payout
MIN_ENTRY = 0.005  # quote units: what rounds to at least a cent is booked


def _realised_by_day(start: datetime, days: int) -> dict[int, tuple[float, float]] | None:
    """Penalties and bad debt of the realised liquidations per day after `start` (quote units), or None
    when there is no liquidation history: then the ledger draws its own."""
    rows = (
        Liquidation.objects.filter(liquidated_at__gte=start, liquidated_at__lt=start + timedelta(days=days))
        .annotate(day=TruncDate("liquidated_at", tzinfo=UTC))
        .values("day")
        .annotate(penalty=Sum("penalty"), bad_debt=Sum("bad_debt"))
    )
    by_day = {(row["day"] - start.date()).days: (float(row["penalty"]), float(row["bad_debt"])) for row in rows}
    return by_day or None


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def insurance_demo_seed(*, seed: int, days: int = 180, coverage_paths: int = 5_000) -> InsuranceFund | None:
    """Create the demo fund with `days` of ledger history and run one coverage run in-process.

    Amounts are quote units (USD): a 20 M genesis deposit, monthly DAO top-ups, daily liquidation
    penalty income, weekly fee income and bad-debt payouts — the penalties and bad debt of the demo's
    liquidation history day by day when there is one (random draws otherwise). Returns None
    when the demo fund already exists (nothing is changed).
    """
    if InsuranceFund.objects.filter(name=DEMO_FUND_NAME).exists():
        return None
    rng = np.random.default_rng(seed + 1)
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    with transaction.atomic():
        fund = insurance_fund_create(name=DEMO_FUND_NAME, actor=DEMO_ACTOR)

        def record(kind: str, amount: float, day: int, ref: str, note: str) -> None:
            ledger_entry_record(
                fund=fund,
                kind=kind,
                amount=_money(amount),
                external_ref=f"demo:{seed}:{ref}",
                note=note,
                recorded_by=DEMO_ACTOR,
                occurred_at=start + timedelta(days=day, hours=12),
            )

        record(EntryKind.DEPOSIT, 20_000_000, 0, "genesis", "Genesis capitalisation by the DAO treasury")
        realised = _realised_by_day(start, days)
        for day in range(1, days):
            penalty = rng.lognormal(np.log(18_000), 0.6) if realised is None else realised.get(day, (0.0, 0.0))[0]
            if penalty >= MIN_ENTRY:
                record(EntryKind.PENALTY_INCOME, penalty, day, f"penalty:{day}", "Liquidation penalties for the day")
            if day % 7 == 0:
                record(
                    EntryKind.FEE_INCOME,
                    rng.lognormal(np.log(160_000), 0.3),
                    day,
                    f"fees:{day // 7}",
                    "Insurance share of the week's trading fees",
                )
            if day % DAYS_PER_MONTH == TOP_UP_DAY_OF_MONTH:
                record(
                    EntryKind.DEPOSIT, 1_000_000, day, f"topup:{day // DAYS_PER_MONTH}", "Monthly DAO treasury top-up"
                )
            if realised is not None:
                bad_debt = realised.get(day, (0.0, 0.0))[1]
            else:
                bad_debt = rng.lognormal(np.log(250_000), 1.0) if rng.random() < BAD_DEBT_DAY_PROBABILITY else 0.0
            if bad_debt >= MIN_ENTRY:
                record(
                    EntryKind.BAD_DEBT_PAYOUT,
                    bad_debt,
                    day,
                    f"baddebt:{day}",
                    "Bad debt from liquidations that closed below bankruptcy",
                )
    run = coverage_run_create(
        label="Demo baseline (current parameters)",
        requested_by=DEMO_ACTOR,
        paths=coverage_paths,
        seed=seed,
        fund=fund,
        enqueue=False,
        purpose=RunPurpose.BASELINE,
    )
    run = coverage_run_execute_inline(run=run)
    if run.status != RunStatus.SUCCEEDED:
        # e.g. seeded inside an outer transaction: the run's inputs are only written when its creation commits
        raise DemoError(f"the demo baseline coverage run #{run.pk} ended {run.get_status_display()}: {run.error}")
    return fund


def demo_fund_latest_run() -> CoverageRun | None:
    return CoverageRun.objects.filter(requested_by=DEMO_ACTOR).order_by("-created_at").first()
