"""The fund ledger: balance is the sum of signed entries; a repeated external reference counts once."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from insurance.models import EntryKind, FundLedgerEntry, InsuranceFund
from insurance.selectors.funds import fund_balance, fund_balance_history
from insurance.services.ledger import ledger_entry_record

pytestmark = pytest.mark.django_db


def record(fund: InsuranceFund, kind: str, amount: str, ref: str, day: int = 1) -> tuple[FundLedgerEntry, bool]:
    return ledger_entry_record(
        fund=fund,
        kind=kind,
        amount=D(amount),
        external_ref=ref,
        note=f"{kind} {ref}",
        recorded_by="test",
        occurred_at=datetime(2024, 1, day, tzinfo=UTC),
    )


def test_balance_is_the_sum_of_signed_entries_and_history_runs_in_time_order() -> None:
    fund = InsuranceFund.objects.create(name="Fund")
    record(fund, EntryKind.DEPOSIT, "1000", "d1", day=1)
    record(fund, EntryKind.PENALTY_INCOME, "50.5", "p1", day=2)
    record(fund, EntryKind.FEE_INCOME, "20", "f1", day=3)
    record(fund, EntryKind.BAD_DEBT_PAYOUT, "300", "b1", day=4)
    record(fund, EntryKind.WITHDRAWAL, "100", "w1", day=5)
    record(fund, EntryKind.ADJUSTMENT, "-0.5", "a1", day=6)
    assert fund_balance(fund=fund) == D("670")
    assert fund_balance(fund=fund, at=datetime(2024, 1, 3, 12, tzinfo=UTC)) == D("1070.5")
    assert [p.balance for p in fund_balance_history(fund=fund)] == [
        D("1000"),
        D("1050.5"),
        D("1070.5"),
        D("770.5"),
        D("670.5"),
        D("670"),
    ]


def test_a_redelivered_entry_is_counted_once() -> None:
    fund = InsuranceFund.objects.create(name="Fund")
    first, created = record(fund, EntryKind.DEPOSIT, "1000", "0xabc:7")
    again, created_again = record(fund, EntryKind.DEPOSIT, "1000", "0xabc:7")
    assert created and not created_again and again.pk == first.pk
    assert FundLedgerEntry.objects.count() == 1
    assert fund_balance(fund=fund) == D("1000")


def test_a_reused_reference_for_another_movement_is_rejected() -> None:
    fund = InsuranceFund.objects.create(name="Fund")
    record(fund, EntryKind.DEPOSIT, "1000", "ref-1")
    with pytest.raises(ValidationError) as error:
        record(fund, EntryKind.DEPOSIT, "999", "ref-1")
    assert "external_ref" in error.value.message_dict
    assert fund_balance(fund=fund) == D("1000")


@pytest.mark.parametrize(
    ("kind", "amount", "note", "field"),
    [
        (EntryKind.WITHDRAWAL, "-5", "x", "amount"),
        (EntryKind.ADJUSTMENT, "0", "x", "amount"),
        (EntryKind.DEPOSIT, "5", "   ", "note"),
    ],
)
def test_invalid_entries_name_the_field(kind: str, amount: str, note: str, field: str) -> None:
    fund = InsuranceFund.objects.create(name="Fund")
    with pytest.raises(ValidationError) as error:
        ledger_entry_record(fund=fund, kind=kind, amount=D(amount), external_ref="r", note=note, recorded_by="t")
    assert field in error.value.message_dict
    assert not FundLedgerEntry.objects.exists()
