"""`manage.py coverage_files_prune`: delete run directories of the run storage that no coverage run refers to."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from insurance.services.coverage_cleanup import PRUNE_GRACE, coverage_files_prune


class Command(BaseCommand):
    help = "Delete coverage-run directories in the run storage (disk or object store) that no run refers to."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List what would be deleted; delete nothing.")
        parser.add_argument(
            "--grace-minutes",
            type=int,
            default=int(PRUNE_GRACE.total_seconds() // 60),
            help="Keep directories written within this many minutes (a run being created). Default: %(default)s.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["grace_minutes"] < 0:
            raise CommandError("--grace-minutes must be 0 or more.")
        verb = "would delete" if options["dry_run"] else "deleted"
        report = coverage_files_prune(
            dry_run=options["dry_run"],
            grace=timedelta(minutes=options["grace_minutes"]),
            progress=lambda directory: self.stdout.write(f"{verb} {directory}"),
        )
        self.stdout.write(f"{len(report.deleted)} run directories {verb}, {report.kept} kept.")
