"""seed_demo also builds the demo insurance fund: a ledger history and a finished baseline coverage run."""

from datetime import UTC, timedelta
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from insurance.models import CoverageRun, FundLedgerEntry, InsuranceFund, RunPurpose
from insurance.selectors.funds import fund_balance
from riskgov.demo.services.insurance import DEMO_FUND_NAME
from riskgov.markets.models import Liquidation

pytestmark = pytest.mark.django_db(transaction=True)  # the baseline run reads the inputs its commit wrote


def test_demo_fund_has_a_ledger_and_a_succeeded_run_and_is_built_once():
    call_command(
        "seed_demo",
        "--seed",
        "4",
        "--positions",
        "300",
        "--days",
        "20",
        "--snapshot-days",
        "0",
        "--no-progress",
        stdout=StringIO(),
    )
    fund = InsuranceFund.objects.get(name=DEMO_FUND_NAME)
    entries = FundLedgerEntry.objects.filter(fund=fund)
    # one penalty-income entry per whole day of the 20-day history (the first and today excluded) on which the
    # demo's realised liquidations earned penalties
    today = timezone.now().date()
    penalty_days = (
        Liquidation.objects.annotate(day=TruncDate("liquidated_at", tzinfo=UTC))
        .filter(day__gt=today - timedelta(days=20), day__lt=today)
        .values("day")
        .annotate(penalty=Sum("penalty"))
        .filter(penalty__gte=D("0.005"))
        .count()
    )
    assert entries.filter(kind="deposit").exists()
    assert entries.filter(kind="penalty_income").count() == penalty_days > 0
    assert fund_balance(fund=fund) == entries.aggregate(total=Sum("effect"))["total"] > D("20000000")
    run = CoverageRun.objects.get(purpose=RunPurpose.BASELINE)  # recommendations may add what-if previews
    assert run.status == "succeeded" and run.metrics["summary"]["paths"] == 5000
    count = entries.count()
    call_command("seed_demo", "--seed", "4", "--no-progress", stdout=StringIO())  # already there: no change
    assert FundLedgerEntry.objects.count() == count
    assert CoverageRun.objects.filter(purpose=RunPurpose.BASELINE).count() == 1


@pytest.mark.django_db  # the whole test is one open transaction: the run's inputs are never committed
def test_a_demo_whose_baseline_run_cannot_finish_says_so():
    with pytest.raises(CommandError, match=r"demo baseline coverage run #\d+ ended Failed"):
        call_command(
            "seed_demo", "--seed", "4", "--positions", "300", "--days", "20", "--snapshot-days", "0", "--no-progress",
            stdout=StringIO(),
        )  # fmt: skip
