"""A worker's later chunks of a run check the frozen inputs file by what the run storage says of it (size, times,
inode; an object's ETag) instead of reading it again; a file whose fingerprint changed is hashed again, and an
altered one still fails the run, on the local disk and on an S3-compatible object store (moto's server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from insurance.models import RunStatus
from insurance.services import coverage_execution
from insurance.services.coverage_execution import coverage_chunk_simulate
from insurance.services.coverage_files import media_path, run_storage
from tests.insurance.conftest import S3Bucket, build_book
from tests.insurance.test_run_lifecycle import new_run

pytestmark = pytest.mark.django_db

Rewrite = Callable[[str, bytes], None]


@pytest.fixture
def full_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The whole-file reads of the inputs that run_frozen_inputs makes, in a worker that has decoded nothing yet."""
    monkeypatch.setattr(coverage_execution, "_worker_cache", coverage_execution._WorkerCache())
    reads: list[str] = []
    for name in ("arrays_read", "file_sha256_check"):
        original = getattr(coverage_execution, name)

        def spy(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            reads.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(coverage_execution, name, spy)
    return reads


@pytest.fixture(params=["filesystem", "s3"])
def rewrite(request: pytest.FixtureRequest) -> Rewrite:
    """Overwrite a run file in place in the run storage: the same inode on disk, a new PUT of the object."""
    if request.param == "filesystem":

        def on_disk(relative: str, data: bytes) -> None:
            media_path(relative).write_bytes(data)

        return on_disk
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    client = bucket.server.client()

    def as_object(relative: str, data: bytes) -> None:
        client.put_object(Bucket=bucket.name, Key=relative, Body=data)

    return as_object


def _stored(relative: str) -> bytes:
    with run_storage().open(relative, "rb") as stream:
        return bytes(stream.read())


def test_later_chunks_read_the_inputs_only_when_the_storage_says_the_file_changed(
    rewrite: Rewrite, full_reads: list[str]
) -> None:
    build_book(positions=120)
    run = new_run()  # 3 chunks
    assert coverage_chunk_simulate(run_id=run.pk, chunk_index=0)
    assert full_reads == ["arrays_read"]  # decoded once

    assert coverage_chunk_simulate(run_id=run.pk, chunk_index=1)
    assert full_reads == ["arrays_read"]  # same file as verified: not read again

    # written again with the same bytes: hashed again on disk (new times), or not (an object's ETag is the
    # MD5 of its bytes); either way the run goes on and the inputs are not decoded again
    rewrite(run.inputs_file, _stored(run.inputs_file))
    assert coverage_chunk_simulate(run_id=run.pk, chunk_index=2)
    assert full_reads in (["arrays_read"], ["arrays_read", "file_sha256_check"])
    run.refresh_from_db()
    assert run.chunks_done == 3 and run.status == RunStatus.RUNNING, run.error


def test_an_inputs_file_altered_after_the_first_chunk_fails_the_run(rewrite: Rewrite, full_reads: list[str]) -> None:
    build_book(positions=120)
    run = new_run()
    assert coverage_chunk_simulate(run_id=run.pk, chunk_index=0)
    data = _stored(run.inputs_file)
    middle = len(data) // 2
    rewrite(run.inputs_file, data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :])  # same size

    assert not coverage_chunk_simulate(run_id=run.pk, chunk_index=1)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "frozen inputs" in run.error and "altered" in run.error, run.error
    assert full_reads == ["arrays_read", "file_sha256_check"]
