"""A report's PDF or CSV rendered once per report version and kept in file storage."""

from __future__ import annotations

from django.db import models

from riskgov.reports.models.reports import ExposureReport


class RenderedFormat(models.TextChoices):
    PDF = "pdf", "PDF"
    CSV = "csv", "CSV"


class RenderedReportFile(models.Model):
    """The stored rendering of one report in one format; `content_sha256` is the version it was rendered from
    (the report's content and charts, and the renderer's version), so a changed report renders anew."""

    report = models.ForeignKey(ExposureReport, on_delete=models.CASCADE, related_name="rendered_files")
    format = models.CharField(max_length=8, choices=RenderedFormat.choices)
    content_sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to="reports/rendered/", max_length=255)
    size_bytes = models.PositiveBigIntegerField()
    rendered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["report", "format", "content_sha256"], name="rendered_report_file_unique_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report} · {self.format} · {self.content_sha256[:12]}"
