"""A report's PDF and CSV rendered once per report version, stored, and served from storage after that.

The version is a SHA-256 of the report's content and charts and of RENDER_VERSION (bump it when a template or
renderer changes what a file looks like). Concurrent first requests render once: the first takes a lock in the
shared cache and renders; the others wait for the stored file (RenderBusy if it takes longer than the wait).
A generated report's files are rendered on a worker right away (`report_files_render`), so downloads seldom
render at all.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from riskgov.core.errors import DomainError
from riskgov.reports.models import ExposureReport, RenderedFormat, RenderedReportFile
from riskgov.reports.services.render import report_csv, report_pdf

RENDER_VERSION = "1"
LOCK_SECONDS = 120  # longer than the slowest PDF render; a crashed renderer's lock expires after this
WAIT_SECONDS = 60  # how long a concurrent request waits for the first one's file
POLL_SECONDS = 0.2

RENDERERS: dict[str, Callable[[ExposureReport], bytes]] = {
    RenderedFormat.PDF: report_pdf,
    RenderedFormat.CSV: lambda report: report_csv(report).encode("utf-8"),
}


class RenderBusy(DomainError):
    """The file is being rendered by another request and was not ready within the wait."""

    status = 503
    default_code = "render_busy"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def report_content_sha256(report: ExposureReport) -> str:
    """The version a rendering is keyed by: content, charts and the renderer's version."""
    document = json.dumps(
        {"renderer": RENDER_VERSION, "content": report.content, "charts": report.charts},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _stored(report: ExposureReport, fmt: str, digest: str) -> RenderedReportFile | None:
    found = RenderedReportFile.objects.filter(report=report, format=fmt, content_sha256=digest).first()
    if found is not None and not found.file.storage.exists(found.file.name):
        found.delete()  # the file was removed from storage: render it again
        return None
    return found


def _render_and_store(report: ExposureReport, fmt: str, digest: str) -> RenderedReportFile:
    body = RENDERERS[fmt](report)
    row = RenderedReportFile(report=report, format=fmt, content_sha256=digest, size_bytes=len(body))
    row.file.save(f"report-{report.pk}-{digest[:16]}.{fmt}", ContentFile(body), save=False)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # stored meanwhile by a renderer whose lock had expired: keep that one
        row.file.delete(save=False)
        return RenderedReportFile.objects.get(report=report, format=fmt, content_sha256=digest)
    return row


def report_rendered_file(*, report: ExposureReport, fmt: str) -> RenderedReportFile:
    """The stored `fmt` ("pdf" or "csv") file of `report`'s current version, rendering it first if needed.

    Raises RenderBusy when another request is rendering it and it is not ready within WAIT_SECONDS.
    """
    digest = report_content_sha256(report)
    found = _stored(report, fmt, digest)
    if found is not None:
        return found
    lock = f"reports:render:{report.pk}:{fmt}:{digest}"
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if cache.add(lock, "1", timeout=LOCK_SECONDS):
            try:
                return _stored(report, fmt, digest) or _render_and_store(report, fmt, digest)
            finally:
                cache.delete(lock)
        time.sleep(POLL_SECONDS)
        found = _stored(report, fmt, digest)
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise RenderBusy(
                f"The report's {fmt.upper()} is still being rendered; retry in {LOCK_SECONDS // 4} s.",
                retry_after=LOCK_SECONDS // 4,
            )


def report_files_render(*, report_id: int) -> list[RenderedReportFile]:
    """Render and store every format of a report's current version ahead of its first download (on a worker,
    right after generation), so a page or API request serves a stored file instead of rendering it."""
    report = ExposureReport.objects.get(pk=report_id)
    return [report_rendered_file(report=report, fmt=fmt) for fmt in RENDERERS]
