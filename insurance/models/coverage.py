"""Coverage runs: the frozen inputs of a Monte-Carlo run, its chunks on the workers, and its results."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from insurance.models.funds import InsuranceFund
from riskgov.core.models.fields import amount_field, rate_field

MAX_PATHS = 1_000_000
MAX_STEPS = 5_000
# paths × (steps + 1) fund balances are merged in memory (8 bytes each): about 160 MB at the bound
MAX_PATH_STEPS = 20_000_000


class PriceModelKind(models.TextChoices):
    GBM = "gbm", "Correlated GBM"
    STUDENT_T = "student_t", "Student-t (fat tails)"
    MERTON = "merton", "Merton jumps"
    BOOTSTRAP = "bootstrap", "Historical bootstrap"
    STRESS = "stress", "Stress scenario"


class ImpactKind(models.TextChoices):
    SQRT = "sqrt", "Square root"
    LINEAR = "linear", "Linear"
    NONE = "none", "None"


class ParameterSet(models.TextChoices):
    CURRENT = "current", "Current parameters"
    VERSIONS = "versions", "Given versions per market"
    OVERRIDES = "overrides", "Proposed changes"


class RunPurpose(models.TextChoices):
    """Why a run exists; only baseline runs feed the headline, alerts, reports, trend and dashboard."""

    BASELINE = "baseline", "Baseline"
    WHAT_IF = "what_if", "What-if"
    PROPOSAL_IMPACT = "proposal_impact", "Proposal impact"
    STRESS = "stress", "Stress scenario"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class CoverageRun(models.Model):
    """Everything needed to reproduce one coverage run, and its outcome.

    Money (fund_balance) in quote units; rates as fractions; horizon in calendar days. The positions
    and market inputs are frozen in `inputs_file` (compressed .npz in the run storage) with `inputs_sha256`.
    """

    label = models.CharField(max_length=200)
    purpose = models.CharField(
        max_length=16,
        choices=RunPurpose.choices,
        default=RunPurpose.WHAT_IF,
        help_text="Derived from the inputs at creation: a run with any override is never a baseline.",
    )
    requested_by = models.CharField(max_length=150)
    # A client's Idempotency-Key (API) and the sha256 of the request it came with: a retry gets the same run.
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    request_sha256 = models.CharField(max_length=64, blank=True, default="")
    fund = models.ForeignKey(InsuranceFund, on_delete=models.PROTECT, null=True, blank=True, related_name="runs")
    fund_balance = amount_field(
        validators=[MinValueValidator(Decimal("0"))], help_text="Fund at the start of the horizon, quote units."
    )

    model = models.CharField(max_length=16, choices=PriceModelKind.choices, default=PriceModelKind.GBM)
    model_params = models.JSONField(default=dict, blank=True, help_text="Model parameters besides volatility.")
    paths = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_PATHS)])
    steps = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_STEPS)])
    horizon_days = models.DecimalField(
        max_digits=8,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(Decimal("365"))],
    )
    impact = models.CharField(max_length=8, choices=ImpactKind.choices, default=ImpactKind.SQRT)
    impact_coefficient = models.DecimalField(
        max_digits=12, decimal_places=6, validators=[MinValueValidator(Decimal("0"))]
    )
    cascade = models.BooleanField(default=True)
    liquidation_delay_steps = models.PositiveIntegerField(default=0)
    seed = models.PositiveBigIntegerField()
    chunk_size = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    target_exhaustion_probability = rate_field(
        default=Decimal("0.01"),
        validators=[MinValueValidator(Decimal("0.00000001")), MaxValueValidator(Decimal("0.99999999"))],
    )
    volatility_window_days = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Days of hourly prices behind the volatility and correlation estimates.",
    )
    parameter_set = models.CharField(max_length=16, choices=ParameterSet.choices, default=ParameterSet.CURRENT)
    parameter_versions = models.JSONField(default=dict, blank=True, help_text="{symbol: version} for 'versions'.")
    parameter_overrides = models.JSONField(
        default=dict, blank=True, help_text="{symbol: {field: value}} for 'overrides' (decimal strings)."
    )
    market_inputs = models.JSONField(
        default=list, blank=True, help_text="Per-market inputs as simulated (price, rates, volatility source…)."
    )
    position_count = models.PositiveIntegerField(default=0)
    inputs_file = models.CharField(max_length=255, blank=True, default="")
    inputs_sha256 = models.CharField(max_length=64, blank=True, default="")
    storage = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The run storage that holds the run's files, as it was when the run was created; a worker "
        "configured with another one leaves the run alone (empty: runs from before it was recorded).",
    )
    book_sha256 = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="sha256 of the frozen positions and mark prices alone: equal books, whatever the parameters.",
    )
    engine_version = models.CharField(max_length=32)

    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    chunk_count = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_progress_at = models.DateTimeField(null=True, blank=True)
    merge_started_at = models.DateTimeField(null=True, blank=True)
    merge_claim = models.CharField(
        max_length=255, blank=True, default="", help_text="The merge holding the run (its task id); empty when none."
    )
    merge_heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker merging the run."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    metrics = models.JSONField(null=True, blank=True)
    results_file = models.CharField(max_length=255, blank=True, default="")
    results_sha256 = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(chunks_done__lte=models.F("chunk_count")), name="coverage_run_chunks_done_bound"
            ),
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="coverage_run_idempotency_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="coverage_run_status_idx"),
            models.Index(fields=["purpose", "status", "finished_at"], name="coverage_run_purpose_idx"),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} {self.label}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def progress(self) -> float:
        """Fraction of chunks finished (0…1)."""
        return self.chunks_done / self.chunk_count if self.chunk_count else 0.0

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class CoverageChunk(models.Model):
    """Paths [path_start, path_stop) of a run, simulated by one task; re-delivery rewrites the same row and file."""

    run = models.ForeignKey(CoverageRun, on_delete=models.CASCADE, related_name="chunks")
    chunk_index = models.PositiveIntegerField()
    path_start = models.PositiveIntegerField()
    path_stop = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    task_id = models.CharField(max_length=255, blank=True, default="")
    worker = models.CharField(max_length=255, blank=True, default="")
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time a live worker reported holding this chunk's task."
    )
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result_file = models.CharField(max_length=255, blank=True, default="")
    result_sha256 = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["run", "chunk_index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "chunk_index"], name="coverage_chunk_unique_index"),
        ]

    def __str__(self) -> str:
        return f"Run #{self.run_id} chunk {self.chunk_index}"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
