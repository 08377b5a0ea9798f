"""Risk-budget attestations: the paired coverage run a parameter change was judged on, and its verdict."""

from __future__ import annotations

from django.db import models

from insurance.models.coverage import CoverageRun
from riskgov.core.models.fields import amount_field, rate_field
from riskgov.markets.models import ParameterChangeRequest

__all__ = ["AttestationStatus", "RiskAttestation"]


class AttestationStatus(models.TextChoices):
    RUNNING = "running", "Running"
    WITHIN_BUDGET = "within_budget", "Within budget"
    OVER_BUDGET = "over_budget", "Over budget"
    FAILED = "failed", "Failed"


class RiskAttestation(models.Model):
    """A paired run (current vs proposed parameters, common random numbers) and the budget it was held to.

    Deltas are proposed minus current: `exhaustion_*` as fractions of paths, `es99_*` in quote units; `*_upper`
    is the upper bound of the two-sided `confidence` interval, the figure compared with the budget.
    `inputs_sha256` hashes both runs' frozen inputs and the budget, so the verdict names exactly what it judged.
    """

    change_request = models.OneToOneField(
        ParameterChangeRequest, on_delete=models.CASCADE, related_name="risk_attestation"
    )
    coverage_current = models.ForeignKey(CoverageRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    coverage_proposed = models.ForeignKey(
        CoverageRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=AttestationStatus.choices, default=AttestationStatus.RUNNING)
    max_exhaustion_increase = rate_field()
    max_es99_increase = amount_field()
    confidence = rate_field()
    paths = models.PositiveIntegerField()
    seed = models.PositiveBigIntegerField()
    inputs_sha256 = models.CharField(max_length=64, blank=True, default="")
    exhaustion_delta = rate_field(null=True, blank=True)
    exhaustion_upper = rate_field(null=True, blank=True)
    es99_delta = amount_field(null=True, blank=True)
    es99_upper = amount_field(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Attestation #{self.pk} of change request #{self.change_request_id}"
