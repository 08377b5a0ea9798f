"""A stored backtest of the coverage model against realised bad debt (see domain/coverage_backtest.py)."""

from __future__ import annotations

from django.db import models


class BacktestStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class CoverageBacktest(models.Model):
    """One backtest over the days ``start``…``end`` (UTC dates, inclusive).

    ``windows`` holds one entry per observed window: ``day``, ``window_end`` (ISO), the baseline ``run_id``
    current at the window's start and its ``run_age_hours`` then, ``horizon_days``, ``realised`` bad debt
    and the predicted ``quantiles`` (quote units, one per level), ``exceeded`` flags and ``probability_at_most``
    (F(realised)). ``skipped`` lists the days without a window and why. ``levels`` holds per level the
    observations, exceedances, expected and observed rates, Kupiec's LR and p-value and the independence
    p-value. It is computed on a worker: ``status`` says how far it got and ``error`` why it failed.
    """

    requested_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    start = models.DateField()
    end = models.DateField()
    max_run_age_hours = models.PositiveIntegerField()
    quantile_levels = models.JSONField(default=list, help_text="Quantile levels as fractions, e.g. [0.9, 0.95].")
    status = models.CharField(max_length=16, choices=BacktestStatus.choices, default=BacktestStatus.QUEUED)
    error = models.TextField(blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)
    windows = models.JSONField(default=list)
    skipped = models.JSONField(default=list)
    levels = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Coverage backtest #{self.pk} {self.start}…{self.end}"

    @property
    def is_active(self) -> bool:
        return self.status in (BacktestStatus.QUEUED, BacktestStatus.RUNNING)
