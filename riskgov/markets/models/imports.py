"""A large import running on the workers: its file, progress and outcome."""

from __future__ import annotations

from django.db import models


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Imported"
    REJECTED = "rejected", "Rejected"


class ImportJob(models.Model):
    """One uploaded positions or prices file imported by a task. `errors` holds up to the import's MAX_ERRORS
    problems as {"row", "field", "reason"} (row None for the file as a whole); `error_total` counts them all."""

    kind = models.CharField(max_length=16)
    format = models.CharField(max_length=8)
    filename = models.CharField(max_length=255)
    file = models.FileField(upload_to="imports/", max_length=255, blank=True)
    size_bytes = models.PositiveBigIntegerField()
    status = models.CharField(max_length=16, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED)
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    created = models.PositiveBigIntegerField(default=0)
    updated = models.PositiveBigIntegerField(default=0)
    unchanged = models.PositiveBigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    error_total = models.PositiveIntegerField(default=0)
    requested_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"import #{self.pk} {self.filename} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (ImportJobStatus.QUEUED, ImportJobStatus.RUNNING)
