"""The impact preview of a proposal being written: its changes, computed on the workers before it is submitted.

Same figures as a proposal's preview (positions newly liquidatable or below initial margin, and a paired coverage
run, current vs proposed parameters on the same paths), kept apart from proposals so nothing is created by
looking. Values are as in MarginParameters (rates fractions, max leverage a multiple, caps quote notional).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ImpactPreview(models.Model):
    """An impact preview requested from the create form; the workers fill `impact` and start the coverage runs."""

    requested_by = models.CharField(max_length=42, help_text="Signed-in address that asked for it.")
    changes = models.JSONField(help_text="{market symbol: {field: new value as a decimal string or null}}.")
    created_at = models.DateTimeField(default=timezone.now)
    impact = models.JSONField(default=dict, blank=True)
    impact_computed_at = models.DateTimeField(null=True, blank=True)
    coverage_current = models.ForeignKey(
        "insurance.CoverageRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    coverage_proposed = models.ForeignKey(
        "insurance.CoverageRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    coverage_error = models.TextField(blank=True, help_text="Why the coverage runs could not be started.")

    class Meta:
        db_table = "riskgov_impactpreview"
        ordering = ["-pk"]
        indexes = [models.Index(fields=["requested_by", "created_at"], name="impact_preview_requester_idx")]

    def __str__(self) -> str:
        return f"Impact preview #{self.pk}"
