"""Recording movements of the insurance fund. The balance is never stored; it is the sum of the ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from insurance.models import EntryKind, FundLedgerEntry, InsuranceFund
from riskgov.core.models import AuditAction
from riskgov.core.services.audit import audit_record


def insurance_fund_create(*, name: str, vault_address: str = "", actor: str) -> InsuranceFund:
    """A new, empty fund. Raises ValidationError naming the field."""
    fund = InsuranceFund(name=name.strip(), vault_address=vault_address.strip())
    fund.full_clean()
    with transaction.atomic():
        fund.save()
        audit_record(action=AuditAction.FUND_CREATED, subject=fund, actor=actor)
    return fund


def ledger_entry_record(
    *,
    fund: InsuranceFund,
    kind: str,
    amount: Decimal,
    external_ref: str,
    note: str,
    recorded_by: str,
    occurred_at: datetime | None = None,
) -> tuple[FundLedgerEntry, bool]:
    """Record one movement (quote units) unless `external_ref` is already in the ledger.

    `amount` is positive; the kind gives the direction (an adjustment carries its own sign). Returns the
    entry and whether it was created; a repeated external_ref returns the existing entry untouched, and
    raises ValidationError when it names a different movement. Raises ValidationError naming the field.
    """
    external_ref = external_ref.strip()
    entry = FundLedgerEntry(
        fund=fund,
        kind=kind,
        amount=amount,
        external_ref=external_ref,
        note=note.strip(),
        recorded_by=recorded_by,
        occurred_at=occurred_at or timezone.now(),
    )
    existing = FundLedgerEntry.objects.filter(external_ref=external_ref).first()
    if existing is not None:
        return _same_or_error(existing, entry), False
    entry.full_clean(exclude=["effect"])
    if kind not in EntryKind.values:
        raise ValidationError({"kind": f"Unknown entry kind {kind!r}."})
    try:
        with transaction.atomic():
            entry.save()
            audit_record(
                action=AuditAction.LEDGER_ENTRY,
                subject=entry,
                actor=recorded_by,
                data={"kind": kind, "amount": str(amount), "external_ref": external_ref},
            )
    except IntegrityError:
        # a concurrent delivery of the same movement won the race
        existing = FundLedgerEntry.objects.filter(external_ref=external_ref).first()
        if existing is None:
            raise
        return _same_or_error(existing, entry), False
    return entry, True


def _same_or_error(existing: FundLedgerEntry, entry: FundLedgerEntry) -> FundLedgerEntry:
    same = (
        existing.fund_id == entry.fund.pk
        and existing.kind == entry.kind
        and Decimal(existing.amount) == Decimal(entry.amount)
    )
    if not same:
        raise ValidationError(
            {
                "external_ref": (
                    f"Reference {entry.external_ref!r} is already recorded as {existing.get_kind_display().lower()} "
                    f"of {existing.amount} in {existing.fund}; a different movement needs its own reference."
                )
            }
        )
    return existing
