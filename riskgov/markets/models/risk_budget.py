"""Risk budgets: a market's limit on how much a parameter change may add to the fund's tail risk, and the
changes that wait for a paired simulation to attest that they stay inside it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from riskgov.core.models.fields import amount_field, rate_field
from riskgov.core.models.versions import ChangeSource
from riskgov.markets.models.markets import Market
from riskgov.markets.models.parameters import MarginParameters

__all__ = ["ChangeRequestStatus", "ParameterChangeRequest", "RiskBudget"]


class RiskBudget(models.Model):
    """How much worse one change may make the fund, measured on a paired run against the parameters in force.

    A change is allowed only when the upper bound of the `confidence` interval of ΔP(fund exhausted) is at most
    `max_exhaustion_increase` (a fraction: 0.005 = 0.5 percentage points) and that of ΔES99 of bad debt at most
    `max_es99_increase` (quote units). Δ is proposed minus current on common random numbers.
    """

    market = models.OneToOneField(Market, on_delete=models.CASCADE, related_name="risk_budget")
    enabled = models.BooleanField(default=True, help_text="Off: changes of this market need no attestation.")
    max_exhaustion_increase = rate_field(
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="ε: the largest allowed increase of P(fund exhausted), a fraction (0.005 = 0.5 points).",
    )
    max_es99_increase = amount_field(
        validators=[MinValueValidator(Decimal("0"))],
        help_text="x: the largest allowed increase of ES99 of bad debt over the horizon, quote units.",
    )
    confidence = rate_field(
        default=Decimal("0.95"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("0.9999"))],
        help_text="Level of the two-sided interval whose upper bound must stay inside the budget.",
    )
    paths = models.PositiveIntegerField(
        default=2_000, validators=[MinValueValidator(50), MaxValueValidator(200_000)], help_text="Paths per run."
    )
    steps = models.PositiveIntegerField(default=48, validators=[MinValueValidator(1), MaxValueValidator(1_000)])
    horizon_days = models.DecimalField(
        max_digits=8,
        decimal_places=3,
        default=Decimal("2"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("30"))],
    )
    max_age_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1)],
        help_text="An attestation older than this when the change would apply has expired; the change is refused.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        db_table = "riskgov_riskbudget"
        ordering = ["market"]

    def __str__(self) -> str:
        return f"Risk budget of {self.market}"


class ChangeRequestStatus(models.TextChoices):
    AWAITING_ATTESTATION = "awaiting_attestation", "Awaiting attestation"
    ATTESTED = "attested", "Attested (waiting for its proposal's execution)"
    APPLIED = "applied", "Applied"
    REFUSED = "refused", "Refused"


OPEN_STATUSES = (ChangeRequestStatus.AWAITING_ATTESTATION, ChangeRequestStatus.ATTESTED)


class ParameterChangeRequest(models.Model):
    """A parameter change of a market with a risk budget: it waits while the workers run its paired simulation,
    then is applied (inside the budget) or refused with the reason. `changes` holds decimal strings (None
    unsets an optional field); `attestation` the evidence it was decided on (runs, inputs hash, result, when)."""

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="change_requests")
    source = models.CharField(max_length=16, choices=ChangeSource.choices)
    changes = models.JSONField(help_text="{field: decimal string or null}, rates as fractions.")
    reason = models.TextField()
    actor = models.CharField(max_length=150)
    proposal_ref = models.CharField(max_length=64, blank=True, default="")
    base_version = models.ForeignKey(
        MarginParameters,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version in force when the change was requested: the paired run's reference side.",
    )
    status = models.CharField(
        max_length=24, choices=ChangeRequestStatus.choices, default=ChangeRequestStatus.AWAITING_ATTESTATION
    )
    progress = models.FloatField(default=0.0, help_text="Share of the paired runs' chunks done (0…1).")
    attestation = models.JSONField(default=dict, blank=True)
    attested_at = models.DateTimeField(null=True, blank=True)
    refusal = models.TextField(blank=True, default="")
    version = models.ForeignKey(
        MarginParameters, on_delete=models.PROTECT, null=True, blank=True, related_name="change_requests"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "riskgov_parameterchangerequest"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="applied") | Q(version__isnull=False), name="change_request_applied_version"
            ),
            models.CheckConstraint(
                condition=~Q(status="refused") | ~Q(refusal=""), name="change_request_refused_reason"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="change_request_status_idx")]

    def __str__(self) -> str:
        return f"Change request #{self.pk} of {self.market}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def proposed_values(self) -> dict[str, Decimal | None]:
        """The full parameter set the change asks for: the base version with `changes` applied."""
        values: dict[str, Any] = self.base_version.values()
        values.update({k: None if v is None else Decimal(v) for k, v in self.changes.items()})
        return values
