"""Shared body of the import_positions, import_prices and import_liquidations commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from riskgov.markets.services.imports import (
    ImportFormat,
    ImportRejected,
    ImportResult,
    Progress,
    import_file,
    import_format_detect,
    iter_errors,
)

PROGRESS_MIN_ROWS = 10_000  # smaller files import in a blink; no bar


class ImportCommand(BaseCommand):
    kind: str = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="A .csv (header line + rows) or .json (list of objects) file.")
        parser.add_argument(
            "--format", choices=[f.value for f in ImportFormat], help="Override the format taken from the extension."
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not show a progress bar.")

    def run_import(self, *, content: BinaryIO, fmt: str, progress: Progress) -> ImportResult:
        return import_file(kind=self.kind, content=content, fmt=fmt, progress=progress)

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if options["no_progress"] or total < PROGRESS_MIN_ROWS:
                return
            bar = bars.get(stage)
            if bar is None:
                for finished in bars.values():
                    finished.close()
                bar = bars[stage] = tqdm(total=total, desc=stage, unit="row", file=sys.stderr, leave=False)
            bar.update(done - bar.n)

        try:
            fmt = options["format"] or import_format_detect(path.name)
            with path.open("rb") as content:  # read row by row, never whole
                result = self.run_import(content=content, fmt=fmt, progress=progress)
        except ImportRejected as error:
            for line in iter_errors(error):
                self.stderr.write(f"{path.name}: {line}" if not line.startswith(" ") else line)
            raise CommandError(f"{path.name}: rejected, {error.total} error(s); nothing was imported") from error
        finally:
            for bar in bars.values():
                bar.close()
        self.stdout.write(self.style.SUCCESS(f"{path.name}: {result}"))
