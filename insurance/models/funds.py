"""The insurance fund and its ledger: the balance is always the sum of the entries."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from riskgov.core.models.fields import amount_field
from riskgov.markets.models.accounts import validate_address


class InsuranceFund(models.Model):
    """A pool of quote-unit money that absorbs bad debt; its balance comes from `FundLedgerEntry` rows."""

    name = models.CharField(max_length=100, unique=True)
    vault_address = models.CharField(
        max_length=42,
        blank=True,
        default="",
        validators=[validate_address],
        help_text="Optional on-chain vault holding the fund (0x…).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class EntryKind(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    PENALTY_INCOME = "penalty_income", "Liquidation penalty income"
    FEE_INCOME = "fee_income", "Trading fee income"
    BAD_DEBT_PAYOUT = "bad_debt_payout", "Bad-debt payout"
    ADJUSTMENT = "adjustment", "Adjustment"


# Kinds that take money out of the fund; an adjustment carries its own sign.
OUTFLOW_KINDS = frozenset({EntryKind.WITHDRAWAL, EntryKind.BAD_DEBT_PAYOUT})


def signed_effect(kind: str, amount: Decimal) -> Decimal:
    """The entry's effect on the balance (quote units): outflows negative, adjustments as given."""
    if kind == EntryKind.ADJUSTMENT:
        return amount
    return -amount if kind in OUTFLOW_KINDS else amount


class FundLedgerEntry(models.Model):
    """One movement of the fund, in quote units. `amount` is positive except for adjustments (signed).

    `external_ref` identifies the movement where it came from (a transaction hash and log index, an
    import row, a run id): re-importing or re-delivering it is a no-op.
    """

    fund = models.ForeignKey(InsuranceFund, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    amount = amount_field(help_text="Quote units; positive, except adjustments which carry their sign.")
    effect = amount_field(editable=False, help_text="Signed effect on the balance, derived from kind and amount.")
    external_ref = models.CharField(max_length=200, unique=True)
    note = models.TextField()
    occurred_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "fund ledger entries"
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="adjustment") & ~Q(amount=0) | ~Q(kind="adjustment") & Q(amount__gt=0),
                name="ledger_amount_sign",
            ),
            models.CheckConstraint(condition=~Q(note=""), name="ledger_note_required"),
        ]
        indexes = [models.Index(fields=["fund", "occurred_at"], name="ledger_fund_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.external_ref})"

    def save(self, *args: object, **kwargs: object) -> None:
        self.effect = signed_effect(self.kind, self.amount)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        if self.amount is None:
            return
        if self.kind == EntryKind.ADJUSTMENT and self.amount == 0:
            raise ValidationError({"amount": "An adjustment must not be zero."})
        if self.kind != EntryKind.ADJUSTMENT and self.amount <= 0:
            raise ValidationError({"amount": "The amount must be positive; the kind decides the direction."})
        if not (self.note or "").strip():
            raise ValidationError({"note": "A note explaining the entry is required."})
