"""Reads about insurance funds: balance and balance history, always from the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum, Window
from django.db.models.functions import Coalesce

from insurance.models import FundLedgerEntry, InsuranceFund
from riskgov.core.models.fields import ZERO


def fund_balance(*, fund: InsuranceFund, at: datetime | None = None) -> Decimal:
    """The fund's balance in quote units: the sum of its ledger entries (up to `at`)."""
    entries = FundLedgerEntry.objects.filter(fund=fund)
    if at is not None:
        entries = entries.filter(occurred_at__lte=at)
    return entries.aggregate(total=Coalesce(Sum("effect"), ZERO))["total"]


@dataclass(frozen=True)
class BalancePoint:
    occurred_at: datetime
    balance: Decimal
    kind: str
    effect: Decimal
    external_ref: str


def fund_balance_history(*, fund: InsuranceFund, limit: int = 2000) -> list[BalancePoint]:
    """Running balance after each entry, oldest first (the newest `limit` entries), computed by the database."""
    rows = (
        FundLedgerEntry.objects.filter(fund=fund)
        .annotate(running=Window(Sum("effect"), order_by=["occurred_at", "pk"]))
        .order_by("-occurred_at", "-pk")
        .values_list("occurred_at", "running", "kind", "effect", "external_ref")[:limit]
    )
    return [BalancePoint(*row) for row in reversed(list(rows))]


def fund_list() -> list[InsuranceFund]:
    return list(InsuranceFund.objects.order_by("pk"))


def fund_default() -> InsuranceFund | None:
    """The fund runs use when none is named: the oldest one."""
    return InsuranceFund.objects.order_by("pk").first()
