"""The scheduled daily coverage run."""

from __future__ import annotations

from django.utils import timezone

from insurance.models import CoverageRun, RunPurpose
from insurance.services.coverage_runs import coverage_run_create

SCHEDULER = "scheduler"


def coverage_run_create_daily() -> CoverageRun:
    """The baseline run: default settings, current parameters, the default fund's ledger balance."""
    return coverage_run_create(
        label=f"Daily coverage {timezone.now():%Y-%m-%d}", requested_by=SCHEDULER, purpose=RunPurpose.BASELINE
    )
