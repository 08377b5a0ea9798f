"""Removing coverage runs and their files from the run storage (local disk or object store alike).

A run's files live in one directory of the run storage (`coverage/run-<id>-<token>/`): its frozen inputs, one
file per chunk and the merged results. Deleting a run deletes that directory once the deletion has committed;
`coverage_files_prune` removes directories that no run refers to any more (a deletion whose file removal was
interrupted, a run whose creation was rolled back after its files were written).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from insurance.models import ACTIVE_STATUSES, CoverageRun
from insurance.services.coverage_files import COVERAGE_DIR, run_files_delete, run_storage

logger = logging.getLogger(__name__)

PRUNE_GRACE = timedelta(hours=1)  # a directory this young may belong to a run being created


class CoverageRunDeleteError(Exception):
    """A run that is still queued or running cannot be deleted (its workers would write files after it)."""


def run_directory_of(run: CoverageRun) -> str:
    return run.inputs_file.rsplit("/", 1)[0] if run.inputs_file else ""


def coverage_runs_delete(runs: Iterable[CoverageRun]) -> int:
    """Delete finished runs (their chunks go with them) and, once that commits, their files. Returns the count.

    Raises CoverageRunDeleteError, deleting nothing, when one of them is still active: cancel it first.
    """
    runs = list(runs)
    active = [run for run in runs if run.status in ACTIVE_STATUSES]
    if active:
        names = ", ".join(f"#{run.pk}" for run in active)
        raise CoverageRunDeleteError(f"Run {names} is still queued or running; cancel it before deleting it.")
    directories = [directory for run in runs if (directory := run_directory_of(run))]
    with transaction.atomic():
        deleted, _ = CoverageRun.objects.filter(pk__in=[run.pk for run in runs]).delete()
        transaction.on_commit(lambda: _directories_delete(directories))
    return len(runs) if deleted else 0


def _directories_delete(directories: list[str]) -> None:
    for directory in directories:
        try:
            run_files_delete(directory)
        except Exception:  # the row is gone; `coverage_files_prune` removes what is left
            logger.exception("the files of %s could not be deleted from the run storage", directory)


@dataclass
class PruneReport:
    kept: int = 0
    deleted: list[str] = field(default_factory=list)


def coverage_files_prune(
    *, dry_run: bool = False, grace: timedelta = PRUNE_GRACE, progress: Callable[[str], object] | None = None
) -> PruneReport:
    """Delete run directories of the run storage that no run refers to and that are older than `grace`."""
    storage = run_storage()
    report = PruneReport()
    try:
        directories, _ = storage.listdir(COVERAGE_DIR)
    except FileNotFoundError:
        return report
    referenced = {
        run_directory_of(run) for run in CoverageRun.objects.exclude(inputs_file="").only("pk", "inputs_file")
    }
    cutoff = timezone.now() - grace
    for name in sorted(directories):
        directory = f"{COVERAGE_DIR}/{name}"
        if not name.startswith("run-") or directory in referenced or not _older_than(directory, cutoff):
            report.kept += 1
            continue
        if not dry_run:
            run_files_delete(directory)
        report.deleted.append(directory)
        if progress is not None:
            progress(directory)
    return report


def _older_than(directory: str, cutoff: object) -> bool:
    """Whether every file of the directory was last written before `cutoff` (an empty directory counts as old)."""
    storage = run_storage()
    _, names = storage.listdir(directory)
    return all(storage.get_modified_time(f"{directory}/{name}") < cutoff for name in names)  # type: ignore[operator]
