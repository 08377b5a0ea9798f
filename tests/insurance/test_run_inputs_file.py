"""A run's frozen inputs reach the disk only when its transaction commits: a rolled-back run leaves no file,
the file is there (with the recorded sha256) before the chunks are sent, and a failed write fails the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from insurance.models import CoverageRun, RunStatus
from insurance.services import coverage_runs
from insurance.services.coverage_files import media_path, sha256_of
from insurance.services.coverage_runs import coverage_run_create
from tests.insurance.conftest import NOW, build_book


class Abandoned(Exception):
    """Raised to roll the surrounding transaction back."""


def create(**options: Any) -> CoverageRun:
    return coverage_run_create(label="files", requested_by="t", paths=200, steps=12, seed=5, at=NOW, **options)


@pytest.mark.django_db(transaction=True)  # real commits and rollbacks, as in a request
def test_a_rolled_back_run_leaves_no_file_and_a_committed_one_does(monkeypatch: pytest.MonkeyPatch) -> None:
    build_book()
    sent: list[tuple[int, bool]] = []

    def enqueue(*, run_id: int) -> int:
        run = CoverageRun.objects.get(pk=run_id)
        sent.append((run_id, media_path(run.inputs_file).is_file()))
        return 0

    monkeypatch.setattr(coverage_runs, "coverage_run_enqueue", enqueue)
    with pytest.raises(Abandoned), transaction.atomic():
        abandoned = create()
        directory = media_path(abandoned.inputs_file).parent
        raise Abandoned
    assert not directory.exists() and not CoverageRun.objects.exists() and sent == []

    run = create()
    path = media_path(run.inputs_file)
    assert path.is_file() and sha256_of(path) == run.inputs_sha256
    assert sent == [(run.pk, True)]  # the file was written before the chunks were sent


@pytest.mark.django_db
def test_a_failed_write_after_commit_fails_the_run_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    build_book()
    chords: list[object] = []
    monkeypatch.setattr(coverage_runs, "chord", chords.append)  # the real enqueue, recording what it would send

    def full_disk(relative: str, data: bytes) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(coverage_runs, "bytes_write", full_disk)
    with django_capture_on_commit_callbacks(execute=True):
        run = create()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.finished_at is not None
    assert "frozen inputs could not be written" in run.error and "No space left on device" in run.error
    assert not Path(media_path(run.inputs_file)).exists()
    assert chords == []  # the enqueue callback finds no active run: no chunk is sent to read a missing file
