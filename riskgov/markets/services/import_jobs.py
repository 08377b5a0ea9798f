"""Large imports on the workers: the upload is stored, a task imports it row by row and records progress.

A job runs once (a conditional UPDATE claims it), so a task delivered twice does not import twice; its file
is deleted when it ends. The import itself is `import_file_of_kind`: all or nothing, the same messages as inline.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from riskgov.core import dispatch
from riskgov.markets.models import ImportJob, ImportJobStatus
from riskgov.markets.services.import_kinds import import_file_of_kind
from riskgov.markets.services.imports import ImportRejected, import_rows_count

IMPORT_JOB_TASK = "riskgov.markets_import_job_run"
PROGRESS_TTL_SECONDS = 3600


@dataclass(frozen=True)
class ImportJobProgress:
    done: int
    total: int

    @property
    def percent(self) -> float:
        return 0.0 if not self.total else min(100.0, 100.0 * self.done / self.total)


def _progress_key(job_id: int) -> str:
    return f"markets:import-job:{job_id}:progress"


def import_job_progress(job: ImportJob) -> ImportJobProgress:
    """Rows checked so far and rows in the file: live while the job runs, final once it ended."""
    if job.status == ImportJobStatus.RUNNING:
        done, total = cache.get(_progress_key(job.pk)) or (0, job.rows_total)
        return ImportJobProgress(done=done, total=max(total, job.rows_total))
    if job.status == ImportJobStatus.QUEUED:
        return ImportJobProgress(done=0, total=job.rows_total)
    return ImportJobProgress(done=job.rows_done, total=max(job.rows_total, job.rows_done))


def import_job_create(*, kind: str, fmt: str, upload: UploadedFile, requested_by: str) -> ImportJob:
    """Store `upload` and queue its import (sent on commit); returns the queued job."""
    with transaction.atomic():
        job = ImportJob(
            kind=kind,
            format=fmt,
            filename=upload.name or "upload",
            size_bytes=upload.size or 0,
            requested_by=requested_by,
        )
        job.file.save(f"{kind}.{fmt}", upload, save=False)
        job.save()
        dispatch.send_on_commit(IMPORT_JOB_TASK, job_id=job.pk)
    return job


def import_job_run(*, job_id: int) -> str:
    """Import the job's file (once); returns the job's final status, or "skipped" when it was already claimed."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.QUEUED).update(
        status=ImportJobStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "skipped"
    job = ImportJob.objects.get(pk=job_id)

    def progress(stage: str, done: int, total: int) -> None:
        # the import runs in one transaction, so live progress goes to the shared cache, not to the job row
        if stage == "validate":
            cache.set(_progress_key(job_id), (done, max(total, done)), timeout=PROGRESS_TTL_SECONDS)

    outcome: dict[str, object]
    try:
        with job.file.open("rb") as content:
            if job.format == "csv":
                ImportJob.objects.filter(pk=job_id).update(rows_total=import_rows_count(content))
            result = import_file_of_kind(kind=job.kind, content=content, fmt=job.format, progress=progress)
    except ImportRejected as rejected:
        outcome = {
            "status": ImportJobStatus.REJECTED,
            "rows_done": F("rows_total"),
            "errors": [{"row": e.row, "field": e.field, "reason": e.reason} for e in rejected.errors],
            "error_total": rejected.total,
        }
    except Exception:  # a bug or a lost database: the transaction rolled back; say so rather than stay "running"
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJobStatus.REJECTED,
            errors=[{"row": None, "field": None, "reason": "the import failed on the server; nothing was imported"}],
            error_total=1,
            finished_at=timezone.now(),
        )
        raise
    else:
        outcome = {
            "status": ImportJobStatus.SUCCEEDED,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rows_done": result.total,
        }
    job.file.delete(save=False)  # the upload is not kept once imported or refused
    # one UPDATE: a reader never sees the job ended with its file still named
    ImportJob.objects.filter(pk=job_id).update(**outcome, file="", finished_at=timezone.now())
    cache.delete(_progress_key(job_id))
    return ImportJob.objects.values_list("status", flat=True).get(pk=job_id)
